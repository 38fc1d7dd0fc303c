"""The ResNet skeleton that Res2Net and ResNeSt share.

A stem (the 7x7 convolution of ResNet v1, or the deep stem of three 3x3 convolutions of
ResNet-C/D), a max-pool, and four stages of bottleneck blocks with the stage's stride and
dilation. A family is a block class (its whole forward in its own module) and its arguments,
which its ``__init__`` checks before it calls :meth:`ResNetSkeleton.build_layers` with the
block's constructor (see ``mmfish/families/res2net/model.py`` and
``mmfish/families/resnest/model.py``). Module names follow torchvision and the official models:
``conv1``/``bn1`` or ``stem``, ``layer1`` .. ``layer4``, ``downsample``.
"""
from typing import Callable, Optional, Sequence

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer

from .base import BackboneBase, ResidualBlock, conv_norm_relu
from .checks import NUM_LEVELS, check_arguments, check_choice
from .layers.plugins import stage_plugins


class Bottleneck(ResidualBlock):
    """The layers Res2Net's and ResNeSt's bottlenecks share: a 1x1 conv to ``mid_channels``
    (``conv1``, ``bn1``), a 1x1 conv to ``planes * expansion`` (``conv3``, ``bn3``), the
    shortcut (``downsample``) and the ReLU. Each family's block adds its 3x3 stage and writes
    its whole ``_forward``.

    ``plugins`` (one stage's, see :mod:`mmfish.core.layers.plugins`) go after ``conv1``'s
    norm and ReLU, after the 3x3 stage and after ``conv3``'s norm (before the shortcut is
    added), named as in mmdet (``context_block``, ...). The family's 3x3 stage takes ``dcn``
    (see :mod:`mmfish.core.layers.dcn`)."""
    expansion = 4

    def __init__(self, in_channels, mid_channels, planes, downsample=None, conv_cfg=None,
                 norm_cfg=dict(type='BN'), with_cp=False, init_cfg=None, plugins=()):
        super().__init__(with_cp, init_cfg)
        out_channels = planes * self.expansion
        self.conv1 = build_conv_layer(conv_cfg, in_channels, mid_channels, 1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, mid_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.conv3 = build_conv_layer(conv_cfg, mid_channels, out_channels, 1, bias=False)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, out_channels, postfix=3)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.add_plugins(plugins, dict(after_conv1=mid_channels, after_conv2=mid_channels,
                                       after_conv3=out_channels))

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm3(self) -> nn.Module:
        return getattr(self, self.norm3_name)

    def zero_init_last(self):
        nn.init.zeros_(self.norm3.weight)


class ResNetSkeleton(BackboneBase):
    """Stem and four stages of ``block``; subclasses set ``block`` and ``arch_settings``.

    Args:
        depth (int): Network depth, a key of ``arch_settings``.
        in_channels (int): Channels of the input image. Defaults to 3.
        stem_channels (int): Output channels of the stem; the deep stem uses half of them in
            its first two convolutions. Defaults to 64.
        base_channels (int): Bottleneck planes of the first stage, doubled at each stage.
            Defaults to 64.
        strides (Sequence[int]): Stride of each of the 4 stages. Defaults to (1, 2, 2, 2).
        dilations (Sequence[int]): Dilation of each of the 4 stages. Output stride 8 is
            ``strides=(1, 2, 1, 1)`` with ``dilations=(1, 1, 2, 4)``. Defaults to
            (1, 1, 1, 1).
        contract_dilation (bool): The first block of a dilated stage uses half the stage's
            dilation, as the official segmentation models do. Defaults to True.
        deep_stem (bool): Three 3x3 convolutions instead of one 7x7 (ResNet-C, Res2Net v1b,
            ResNeSt). Defaults to False.
        avg_down (bool): Shortcut down-sampling with an average pool before a stride-1 1x1
            conv (ResNet-D). Defaults to False.
        dcn (dict, optional): mmdet's deformable convolutions: ``dict(type='DCN' or 'DCNv2',
            deform_groups=1, fallback_on_stride=False)`` builds the family's 3x3 convolutions
            (ResNeSt: the split-attention conv ``conv2.conv``; Res2Net: every split conv
            ``convs.<i>``) as mmcv's ``DeformConv2dPack`` / ``ModulatedDeformConv2dPack`` in
            the stages ``stage_with_dcn`` marks; with ``fallback_on_stride=True`` those that
            stride stay regular convolutions. Not with ``conv_cfg``. Defaults to None.
        stage_with_dcn (Sequence[bool]): Which of the 4 stages get ``dcn``. Defaults to
            (False, False, False, False).
        plugins (list[dict], optional): mmdet's plugin layers (mmcv's ``ContextBlock``,
            ``GeneralizedAttention``, ``NonLocal2d``, ...): ``dict(cfg=dict(type=...),
            position='after_conv1' | 'after_conv2' | 'after_conv3', stages=(4 bools))``, in
            every block of the stages marked, named as in mmdet (``layer2.0.context_block``);
            see :mod:`mmfish.core.layers.plugins`. Defaults to None.
        style (str): mmdet's stride placement: only ``'pytorch'`` (the stride in the 3x3
            stage, as every released model); ``'caffe'`` is refused. Defaults to 'pytorch'.
        num_stages (int): mmdet's number of stages: only 4 (choose levels with
            ``out_indices``). Defaults to 4.
        pretrained (str, optional): Deprecated, as in mmdet (see :class:`BackboneBase`).
            Defaults to None.
        **kwargs: The arguments of :class:`BackboneBase`, each with its type and default
            there: ``out_indices``,
            ``frozen_stages`` (-1 freezes nothing, 0 the stem, k the stem and stages 1..k),
            ``conv_cfg``, ``norm_cfg``, ``norm_eval``, ``with_cp``, ``zero_init_residual``
            (zero the last norm of each block), ``channels_last`` and ``init_cfg``; any other
            name is refused with the closest valid one.

    Inputs: (N, ``in_channels``, H, W) floating-point tensors of any size from 1x1 up
    (``min_size = 1``): every stride-s step (the stem's stride-2 conv, the max-pool, a strided
    block, its shortcut's conv or ceil-mode pool) gives ``ceil(size / s)``, so level ``i`` is
    ``ceil(H / r) x ceil(W / r)`` with ``r = feature_info[i]['reduction']`` (``4 * strides[0]
    * ... * strides[i]``). With sides of 32 or less the stride-32 level is 1x1, and training
    BatchNorm on it then needs a batch of 2 or more.
    """

    block: type = None
    arch_settings: dict = {}
    mmdet_contract = True
    #: any input side works: every stride-s layer gives ceil(size / s) >= 1 (tested down to 1)
    min_size = 1

    def __init__(self, depth: int, in_channels: int = 3, stem_channels: int = 64,
                 base_channels: int = 64, strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1), contract_dilation: bool = True,
                 deep_stem: bool = False, avg_down: bool = False, dcn: Optional[dict] = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False),
                 plugins: Optional[list] = None, style: str = 'pytorch', num_stages: int = 4,
                 pretrained: Optional[str] = None, **kwargs):
        super().__init__(mmdet=dict(dcn=dcn, stage_with_dcn=stage_with_dcn, plugins=plugins,
                                    style=style, num_stages=num_stages, pretrained=pretrained),
                         **kwargs)
        check_choice('depth', depth, self.arch_settings)
        check_arguments(dict(stem_channels=2 if deep_stem is True else 1),
                        contract_dilation=contract_dilation, deep_stem=deep_stem,
                        avg_down=avg_down, in_channels=in_channels, stem_channels=stem_channels,
                        base_channels=base_channels, strides=strides, dilations=dilations)
        self.depth = depth
        self.in_channels = in_channels
        self.stem_channels = stem_channels
        self.base_channels = base_channels
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.contract_dilation = contract_dilation
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        #: the bottleneck planes of each stage (its output has ``expansion`` times as many)
        self.stage_planes = tuple(base_channels * 2**i for i in range(NUM_LEVELS))
        # the family checks its own arguments and calls build_layers with its block

    def build_layers(self, make_block: Callable[..., nn.Module]) -> None:
        """The stem and the four stages of blocks, ``make_block(in_channels, planes,
        stride=, dilation=, downsample=, first=, conv_cfg=, norm_cfg=, with_cp=, dcn=,
        plugins=)`` (the family's block with its own arguments bound), then the end of
        ``__init__``."""
        self._make_stem(self.in_channels, self.stem_channels)
        self.res_layers = []
        self.feature_info = []
        channels, reduction = self.stem_channels, 4
        for i, planes in enumerate(self.stage_planes):
            name = f'layer{i + 1}'
            self.add_module(name, self._make_stage(make_block, channels, planes, i))
            self.res_layers.append(name)
            channels = planes * self.block.expansion
            reduction *= self.strides[i]
            self.feature_info.append(dict(num_chs=channels, reduction=reduction, module=name))
        self._finish_init()

    # -- construction -----------------------------------------------------------------------
    def _make_stem(self, in_channels: int, stem_channels: int) -> None:
        if self.deep_stem:
            mid = stem_channels // 2
            self.stem = nn.Sequential(
                *conv_norm_relu(self.conv_cfg, self.norm_cfg, in_channels, mid, 3, stride=2),
                *conv_norm_relu(self.conv_cfg, self.norm_cfg, mid, mid, 3),
                *conv_norm_relu(self.conv_cfg, self.norm_cfg, mid, stem_channels, 3))
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 7,
                                          stride=2, padding=3, bias=False)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _make_downsample(self, in_channels: int, out_channels: int, stride: int):
        if stride == 1 and in_channels == out_channels:
            return None
        layers = []
        conv_stride = stride
        if self.avg_down:
            # index 0 is the pool (an identity at stride 1), as in the official v1b/ResNeSt models
            layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
                          if stride > 1 else nn.Identity())
            conv_stride = 1
        layers += [
            build_conv_layer(self.conv_cfg, in_channels, out_channels, 1, stride=conv_stride,
                             bias=False),
            build_norm_layer(self.norm_cfg, out_channels)[1],
        ]
        return nn.Sequential(*layers)

    def _make_stage(self, make_block, in_channels: int, planes: int,
                    index: int) -> nn.Sequential:
        num_blocks = self.arch_settings[self.depth][index]
        stride, dilation = self.strides[index], self.dilations[index]
        out_channels = planes * self.block.expansion
        first_dilation = dilation // 2 if self.contract_dilation and dilation > 1 else dilation
        common = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, with_cp=self.with_cp,
                      dcn=self.dcn if self.stage_with_dcn[index] else None,
                      plugins=stage_plugins(self.plugins, index))
        blocks = [
            make_block(in_channels, planes, stride=stride, dilation=first_dilation,
                       downsample=self._make_downsample(in_channels, out_channels, stride),
                       first=True, **common)
        ]
        blocks += [
            make_block(out_channels, planes, stride=1, dilation=dilation, **common)
            for _ in range(1, num_blocks)
        ]
        return nn.Sequential(*blocks)

    # -- behaviour ---------------------------------------------------------------------------
    def stage_modules(self) -> list:
        stem = [self.stem] if self.deep_stem else [self.conv1, getattr(self, self.norm1_name)]
        return [nn.ModuleList(stem)] + [getattr(self, name) for name in self.res_layers]

    def forward_levels(self, x):
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(getattr(self, self.norm1_name)(self.conv1(x)))
        x = self.maxpool(x)
        for name in self.res_layers:
            x = getattr(self, name)(x)
            yield x
