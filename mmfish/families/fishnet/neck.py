"""FishNet's score layers, used inside the network (the bridge) and, registered as
``mmfish.FishScore``, as the neck of the FishNet classifiers."""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule

from ...registry import MODELS

#: FishNet's pre-activation order of mmcv's ConvModule: norm, activation, conv
PRE_ACT = ('norm', 'act', 'conv')


@MODELS.register_module()
class FishScore(BaseModule):
    """The score layers of FishNet: pre-activated 1x1 conv halving the channels, BN, ReLU,
    then optionally a global average pool and a 1x1 conv with bias (``fc``).

    Inside the network (the bridge) it maps the tail's output to ``out_channels``. As an
    mmpretrain neck (``pool=True``, ``out_channels=None``) it gives the pooled features that
    the official classifier's last 1x1 conv, here a ``LinearClsHead``, turns into logits.
    """

    def __init__(self, in_channels, out_channels: Optional[int] = None, pool=False,
                 conv_cfg=None, norm_cfg=dict(type='BN'), init_cfg=None):
        super().__init__(init_cfg)
        mid = in_channels // 2
        self.reduce = ConvModule(in_channels, mid, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                 order=PRE_ACT)
        self.norm_name, norm = build_norm_layer(norm_cfg, mid)
        self.add_module(self.norm_name, norm)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1) if pool else None
        self.fc = nn.Conv2d(mid, out_channels, 1) if out_channels else None

    def _forward(self, x):
        x = self.relu(getattr(self, self.norm_name)(self.reduce(x)))
        if self.pool is not None:
            x = self.pool(x)
        if self.fc is not None:
            x = self.fc(x)
        return x.flatten(1) if self.pool is not None else x

    def forward(self, inputs):
        if isinstance(inputs, (tuple, list)):  # used as a neck: the last backbone level
            return (self._forward(inputs[-1]), )
        return self._forward(inputs)
