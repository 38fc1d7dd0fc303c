"""The ResNet skeleton that Res2Net and ResNeSt share.

A stem (the 7x7 convolution of ResNet v1, or the deep stem of three 3x3 convolutions of
ResNet-C/D), a max-pool, and four stages of bottleneck blocks with the stage's stride and
dilation. A family is only a block class plus its arguments (see ``res2net.py`` and
``resnest.py``). Module names follow torchvision and the official models: ``conv1``/``bn1`` or
``stem``, ``layer1`` .. ``layer4``, ``downsample``.
"""
from typing import Optional, Sequence

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer

from ..layers.plugins import build_block_plugins, stage_plugins
from .args import (
    check_bool,
    check_choice,
    check_dcn,
    check_int,
    check_norm_cfg,
    check_out_indices,
    check_per_stage,
    check_plugins,
    explains_group_norm_errors,
    mmdet_resnet_init_cfg,
    reject_unknown,
)
from .base import DEFAULT_INIT_CFG, BackboneBase, ResidualBlock


class Bottleneck(ResidualBlock):
    """What Res2Net's and ResNeSt's bottlenecks share: a 1x1 conv to ``mid_channels``
    (``conv1``, ``bn1``), the family's 3x3 stage (:meth:`transform`), a 1x1 conv to
    ``planes * expansion`` (``conv3``, ``bn3``), the shortcut and the final ReLU.

    ``plugins`` (one stage's, see :mod:`mmfish.models.layers.plugins`) go after ``conv1``'s
    norm and ReLU, after the 3x3 stage and after ``conv3``'s norm (before the shortcut is
    added), named as in mmdet (``context_block``, ...). The family's 3x3 stage takes ``dcn``
    (see :mod:`mmfish.models.layers.dcn`)."""
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
        names = build_block_plugins(self, plugins or (), dict(
            after_conv1=mid_channels, after_conv2=mid_channels, after_conv3=out_channels))
        self.after_conv1_plugin_names = names['after_conv1']
        self.after_conv2_plugin_names = names['after_conv2']
        self.after_conv3_plugin_names = names['after_conv3']

    def transform(self, x):
        """The family's 3x3 stage, between ``conv1`` and ``conv3``."""
        raise NotImplementedError

    def zero_init_last(self):
        nn.init.zeros_(getattr(self, self.norm3_name).weight)

    def _forward(self, x):
        out = self.relu(getattr(self, self.norm1_name)(self.conv1(x)))
        for name in self.after_conv1_plugin_names:
            out = getattr(self, name)(out)
        out = self.transform(out)
        for name in self.after_conv2_plugin_names:
            out = getattr(self, name)(out)
        out = getattr(self, self.norm3_name)(self.conv3(out))
        for name in self.after_conv3_plugin_names:
            out = getattr(self, name)(out)
        identity = x if self.downsample is None else self.downsample(x)
        out += identity  # in place: the norm's backward does not need its output
        return self.relu(out)


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
        out_indices (Sequence[int]): Pyramid levels to return (0..3 at strides 4, 8, 16 and
            32 with the default strides), increasing. Defaults to (0, 1, 2, 3).
        deep_stem (bool): Three 3x3 convolutions instead of one 7x7 (ResNet-C, Res2Net v1b,
            ResNeSt). Defaults to False.
        avg_down (bool): Shortcut down-sampling with an average pool before a stride-1 1x1
            conv (ResNet-D). Defaults to False.
        frozen_stages (int): -1 freezes nothing, 0 the stem, k the stem and stages 1..k.
            Defaults to -1.
        conv_cfg (dict, optional): mmcv config of the convolutions. Defaults to None
            (``nn.Conv2d``).
        norm_cfg (dict): mmcv config of the norm layers (``BN``, ``SyncBN``, ``GN`` with
            ``num_groups``, ...). Defaults to ``dict(type='BN', requires_grad=True)``.
        norm_eval (bool): Keep BatchNorm layers in eval mode (frozen statistics) while
            training. Defaults to False.
        with_cp (bool): Activation checkpointing in every block: less memory, more compute.
            Defaults to False.
        zero_init_residual (bool): Zero the last norm of each block, unless pretrained weights
            are loaded. Defaults to True.
        channels_last (bool): Run in the channels-last memory format (see
            :class:`BackboneBase`). Defaults to True.
        init_cfg (dict or list[dict]): MMEngine initialisation; ``dict(type='Pretrained',
            checkpoint=PATH, prefix='backbone.')`` loads weights strictly. Defaults to Kaiming
            convolutions and unit norm weights (and zero offsets of deformable convolutions).
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
            see :mod:`mmfish.models.layers.plugins`. Defaults to None.
        style (str): mmdet's stride placement: only ``'pytorch'`` (the stride in the 3x3
            stage, as every released model); ``'caffe'`` is refused. Defaults to 'pytorch'.
        num_stages (int): mmdet's number of stages: only 4 (choose levels with
            ``out_indices``). Defaults to 4.
        pretrained (str, optional): Deprecated, as in mmdet: becomes
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)`` with a
            DeprecationWarning. Defaults to None.
        **block_kwargs: The family's block arguments (``block_arguments``); any other name is
            refused with the closest valid one.

    Inputs: (N, ``in_channels``, H, W) floating-point tensors of any size from 1x1 up
    (``min_size = 1``): every stride-s step (the stem's stride-2 conv, the max-pool, a strided
    block, its shortcut's conv or ceil-mode pool) gives ``ceil(size / s)``, so level ``i`` is
    ``ceil(H / r) x ceil(W / r)`` with ``r = feature_info[i]['reduction']`` (``4 * strides[0]
    * ... * strides[i]``). With sides of 32 or less the stride-32 level is 1x1, and training
    BatchNorm on it then needs a batch of 2 or more.
    """

    block: type = None
    arch_settings: dict = {}
    #: the family's block arguments, which the subclass passes on through ``**block_kwargs``
    block_arguments: tuple = ()
    #: any input side works: every stride-s layer gives ceil(size / s) >= 1 (tested down to 1)
    min_size = 1

    @explains_group_norm_errors
    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 stem_channels: int = 64,
                 base_channels: int = 64,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 contract_dilation: bool = True,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 deep_stem: bool = False,
                 avg_down: bool = False,
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = True,
                 channels_last: bool = True,
                 init_cfg=DEFAULT_INIT_CFG,
                 dcn: Optional[dict] = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False),
                 plugins: Optional[list] = None,
                 style: str = 'pytorch',
                 num_stages: int = 4,
                 pretrained: Optional[str] = None,
                 **block_kwargs):
        reject_unknown(type(self), [k for k in block_kwargs if k not in self.block_arguments],
                       extra=self.block_arguments)
        init_cfg = mmdet_resnet_init_cfg(type(self), style, num_stages, pretrained, init_cfg,
                                         DEFAULT_INIT_CFG)
        dcn, stage_with_dcn = check_dcn(dcn, stage_with_dcn, conv_cfg)
        plugins = check_plugins(plugins)
        super().__init__(frozen_stages, norm_eval, zero_init_residual, init_cfg, channels_last)
        self.dcn, self.stage_with_dcn, self.plugins = dcn, stage_with_dcn, plugins
        self.style, self.num_stages = style, num_stages
        check_choice('depth', depth, self.arch_settings)
        for name, value in (('contract_dilation', contract_dilation), ('deep_stem', deep_stem),
                            ('avg_down', avg_down), ('with_cp', with_cp)):
            check_bool(name, value)
        check_norm_cfg(norm_cfg)
        check_int('in_channels', in_channels)
        check_int('stem_channels', stem_channels, minimum=2 if deep_stem else 1)
        check_int('base_channels', base_channels)
        self.depth = depth
        self.in_channels = in_channels
        self.stem_channels = stem_channels
        self.base_channels = base_channels
        self.strides = check_per_stage('strides', strides)
        self.dilations = check_per_stage('dilations', dilations)
        self.contract_dilation = contract_dilation
        self.out_indices = check_out_indices(out_indices)
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.with_cp = with_cp
        self.block_kwargs = block_kwargs
        self._check_block_widths()

        self._make_stem(in_channels, stem_channels)
        self.res_layers = []
        self.feature_info = []
        channels, reduction = stem_channels, 4
        for i, num_blocks in enumerate(self.arch_settings[depth]):
            planes = base_channels * 2**i
            layer = self._make_stage(channels, planes, num_blocks, self.strides[i],
                                     self.dilations[i], i)
            name = f'layer{i + 1}'
            self.add_module(name, layer)
            self.res_layers.append(name)
            channels = planes * self.block.expansion
            reduction *= self.strides[i]
            self.feature_info.append(dict(num_chs=channels, reduction=reduction, module=name))
        self.out_channels = tuple(self.feature_info[i]['num_chs'] for i in self.out_indices)
        self._check_frozen_stages()
        self._freeze_stages()
        self._to_memory_format()

    # -- construction -----------------------------------------------------------------------
    def _check_block_widths(self) -> None:
        """Raise a ValueError naming the arguments when a stage's bottleneck would have no
        channels or channels its grouped convolutions cannot split (family-specific)."""

    def _make_stem(self, in_channels: int, stem_channels: int) -> None:
        if self.deep_stem:
            mid = stem_channels // 2
            layers = []
            for i, (cin, cout) in enumerate(
                    [(in_channels, mid), (mid, mid), (mid, stem_channels)]):
                layers += [
                    build_conv_layer(self.conv_cfg, cin, cout, 3, stride=2 if i == 0 else 1,
                                     padding=1, bias=False),
                    build_norm_layer(self.norm_cfg, cout)[1],
                    nn.ReLU(inplace=True),
                ]
            self.stem = nn.Sequential(*layers)
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

    def _make_stage(self, in_channels: int, planes: int, num_blocks: int, stride: int,
                    dilation: int, index: int = 0) -> nn.Sequential:
        out_channels = planes * self.block.expansion
        first_dilation = dilation // 2 if self.contract_dilation and dilation > 1 else dilation
        common = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, with_cp=self.with_cp,
                      dcn=self.dcn if self.stage_with_dcn[index] else None,
                      plugins=stage_plugins(self.plugins, index), **self.block_kwargs)
        blocks = [
            self.block(in_channels, planes, stride=stride, dilation=first_dilation,
                       downsample=self._make_downsample(in_channels, out_channels, stride),
                       first=True, **common)
        ]
        blocks += [
            self.block(out_channels, planes, stride=1, dilation=dilation, **common)
            for _ in range(1, num_blocks)
        ]
        return nn.Sequential(*blocks)

    # -- behaviour ---------------------------------------------------------------------------
    def stage_modules(self) -> list:
        stem = [self.stem] if self.deep_stem else [self.conv1, getattr(self, self.norm1_name)]
        return [nn.ModuleList(stem)] + [getattr(self, name) for name in self.res_layers]

    def forward_stem(self, x):
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(getattr(self, self.norm1_name)(self.conv1(x)))
        return self.maxpool(x)

    def forward(self, x):
        self.check_input(x)
        try:
            x = self.forward_stem(self._enter(x))
            outs = []
            for i, name in enumerate(self.res_layers):
                x = getattr(self, name)(x)
                if i in self.out_indices:
                    outs.append(self._exit(x))
        except ValueError as exc:  # a try costs nothing until it raises
            error = self.explain_norm_error(exc)
            if error is None:
                raise
            raise error from None
        return tuple(outs)
