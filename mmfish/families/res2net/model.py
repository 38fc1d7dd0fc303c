"""Res2Net (Gao et al., TPAMI 2021): hierarchical residual connections inside one bottleneck.

The 3x3 convolution of a bottleneck is replaced by ``scales - 1`` convolutions over splits of
``width`` channels; each split adds the output of the previous one before its convolution, so
one block sees receptive fields of several sizes. Res2NeXt makes those convolutions grouped;
v1b adds the deep stem and avg-down shortcuts (``deep_stem=True, avg_down=True``).
PaddleClas' Res2Net-vd is v1b with ``split_style='paddle'``, and mmdet's trained Res2Net
detectors have ``split_style='mmdet'`` (see :class:`Bottle2neck`).
"""
import functools
import math

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer

from ...core.base import bottleneck_width
from ...core.checks import check_arguments
from ...core.layers.dcn import build_dcn_conv, dcn_for_stride
from ...core.skeleton import Bottleneck, ResNetSkeleton
from ...registry import MODELS

#: how the 3x3 convolutions split a block's input (:class:`Bottle2neck`)
SPLIT_STYLES = ('official', 'mmdet', 'paddle')


class Bottle2neck(Bottleneck):
    """The Res2Net bottleneck.

    ``first`` marks the first block of a stage (the official ``stype='stage'``): its splits
    do not add each other's outputs, they all take the block's stride, and the last split is
    average-pooled instead of passed through. With ``split_style='paddle'`` (PaddleClas'
    Res2Net_vd) only a block that strides is such a block (so layer1's first block is a
    normal one) and its pool leaves the padding out of the average (Paddle's ``exclusive``).
    With ``split_style='mmdet'`` (mmdet's ``Bottle2neck``) every first block splits without
    hierarchy, but only one that strides pools its last split (counting the padding): a
    first block of stride 1 (layer1's, or a dilated stage's) passes it through.
    """

    def __init__(self, in_channels, planes, stride=1, dilation=1, downsample=None, first=False,
                 scales=4, base_width=26, groups=1, split_style='official', conv_cfg=None,
                 norm_cfg=dict(type='BN'), with_cp=False, init_cfg=None, dcn=None, plugins=()):
        self.width = width = bottleneck_width(planes, base_width, groups)
        super().__init__(in_channels, width * scales, planes, downsample, conv_cfg, norm_cfg,
                         with_cp, init_cfg, plugins)
        self.scales = scales
        paddle = split_style == 'paddle'
        self.first = first and (stride > 1 or not paddle)
        #: whether the last split is average-pooled (else passed through)
        self.pools_last = self.first and scales > 1 and (stride > 1 or split_style != 'mmdet')
        self.nums = max(scales - 1, 1)
        dcn = dcn_for_stride(dcn, stride)  # mmdet's Res2Net: every split conv deformable
        build = build_conv_layer if dcn is None else build_dcn_conv
        self.convs = nn.ModuleList(
            build(conv_cfg if dcn is None else dcn, width, width, 3, stride=stride,
                  padding=dilation, dilation=dilation, groups=groups, bias=False)
            for _ in range(self.nums))
        self.bns = nn.ModuleList(build_norm_layer(norm_cfg, width)[1] for _ in range(self.nums))
        if self.pools_last:
            self.pool = nn.AvgPool2d(kernel_size=3, stride=stride, padding=1,
                                     count_include_pad=not paddle)

    def _forward(self, x, identity=None):
        """``identity``, when given, replaces the shortcut (Res2Net-DLA's trees give it)."""
        out = self.run_plugins('after_conv1', self.relu(self.norm1(self.conv1(x))))
        splits = torch.split(out, self.width, 1)
        outs = []
        sp = None
        for i in range(self.nums):
            sp = splits[i] if i == 0 or self.first else sp + splits[i]
            sp = self.relu(self.bns[i](self.convs[i](sp)))
            outs.append(sp)
        if self.scales > 1:
            outs.append(self.pool(splits[self.nums]) if self.pools_last else splits[self.nums])
        out = self.run_plugins('after_conv3', self.norm3(self.conv3(
            self.run_plugins('after_conv2', torch.cat(outs, 1)))))
        if identity is None:
            identity = x if self.downsample is None else self.downsample(x)
        out += identity  # in place: the norm's backward does not need its output
        return self.relu(out)


@MODELS.register_module()
class Res2Net(ResNetSkeleton):
    """Res2Net, Res2NeXt and Res2Net-v1b backbones.

    Args:
        depth (int): Network depth, from {50, 101, 152, 200} (200: PaddleClas'
            Res2Net200_vd, stages of 3, 12, 48 and 3 blocks).
        scales (int): Number of splits of a bottleneck (the ``s`` of ``26w x 4s``).
            Defaults to 4.
        base_width (int): Channels of one split in the first stage (the ``w``). Defaults to
            26.
        groups (int): Groups of the split convolutions; more than 1 gives Res2NeXt.
            Defaults to 1.
        deep_stem (bool): Three 3x3 stem convolutions (v1b). Defaults to False.
        avg_down (bool): Average-pool shortcut down-sampling (v1b). Defaults to False.
        split_style (str): Which blocks split without hierarchy and pool their last split:
            ``'official'``, the first block of every stage, its pool counting the padding
            (the authors' code); ``'paddle'``, the blocks that stride, their pool not
            counting it (PaddleClas' Res2Net_vd); ``'mmdet'``, the first block of every
            stage, but only those that stride pool, counting the padding (mmdet's Res2Net:
            layer1's first block passes its last split through). The weights are the same in
            all three (no pool has any), so a checkpoint does not show its style: mmdet's
            trained detectors (Faster/Mask/Cascade R-CNN, HTC Res2Net-101) need ``'mmdet'``,
            the official, timm and mmpretrain weights ``'official'``. Defaults to
            ``'official'``.
        **kwargs: The other arguments of :class:`ResNetSkeleton` (``in_channels``,
            ``stem_channels``, ``base_channels``, ``strides``, ``dilations``,
            ``contract_dilation``, ``out_indices``, ``frozen_stages``, ``conv_cfg``,
            ``norm_cfg``, ``norm_eval``, ``with_cp``, ``zero_init_residual``,
            ``channels_last``, ``init_cfg``, and mmdet's ``dcn``, ``stage_with_dcn``,
            ``plugins``, ``style``, ``num_stages``, ``pretrained``), each with its type and
            default there. ``dcn`` makes every split conv (``convs.<i>``) deformable, as in
            mmdet's Res2Net.

    Example:
        >>> import torch
        >>> from mmfish.models import Res2Net
        >>> model = Res2Net(depth=50, scales=4, base_width=26).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 224, 224))]
        [(1, 256, 56, 56), (1, 512, 28, 28), (1, 1024, 14, 14), (1, 2048, 7, 7)]
    """
    block = Bottle2neck
    arch_settings = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3),
                     200: (3, 12, 48, 3)}
    argument_kinds = dict(scales=1, split_style=SPLIT_STYLES)

    def __init__(self, depth, scales=4, base_width=26, groups=1, split_style='official',
                 **kwargs):
        super().__init__(depth, **kwargs)
        #: the block arguments, checked here and given to every block
        self.block_kwargs = dict(scales=scales, base_width=base_width, groups=groups,
                                 split_style=split_style)
        check_arguments(kinds=self.argument_kinds, **self.block_kwargs)
        planes = self.stage_planes[0]  # layer1's
        if bottleneck_width(planes, base_width) < 1:
            raise ValueError(
                f'base_width={base_width} with base_channels={planes} gives splits of '
                f'floor({planes} * {base_width} / 64) = 0 channels in layer1: use base_width >= '
                f'{math.ceil(64 / planes)} or base_channels >= {math.ceil(64 / base_width)}')
        self.build_layers(functools.partial(Bottle2neck, **self.block_kwargs))
