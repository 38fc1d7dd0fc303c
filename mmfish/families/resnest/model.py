"""ResNeSt (Zhang et al., 2020): ResNet-D with split-attention bottlenecks.

The 3x3 convolution of a bottleneck produces ``radix`` groups of feature maps (within each of
``groups`` cardinal groups); a softmax over the radix, computed from their pooled sum, weights
and sums them. ResNeSt also down-samples in the bottleneck with an average pool (``avd``).
"""
import functools
import math

import torch.nn as nn

from ...core.base import bottleneck_width
from ...core.checks import check_arguments, check_optional_norm_cfg, divisors, is_group_norm
from ...core.layers.dcn import dcn_for_stride
from ...core.layers.split_attention import SplitAttentionConv2d, attention_channels
from ...core.skeleton import Bottleneck, ResNetSkeleton
from ...registry import MODELS


class ResNeStBottleneck(Bottleneck):
    """Bottleneck with a split-attention 3x3 conv (``conv2``); with ``avd`` the stride moves to
    an average pool before (``avd_first``) or after the split-attention conv."""

    def __init__(self, in_channels, planes, stride=1, dilation=1, downsample=None, first=False,
                 radix=2, groups=1, base_width=64, reduction_factor=4, avd=True,
                 avd_first=False, conv_cfg=None, norm_cfg=dict(type='BN'), with_cp=False,
                 init_cfg=None, dcn=None, plugins=(), attention_norm_cfg=None):
        width = bottleneck_width(planes, base_width, groups)
        super().__init__(in_channels, width, planes, downsample, conv_cfg, norm_cfg, with_cp,
                         init_cfg, plugins)
        self.avd = avd and stride > 1
        self.avd_first = avd_first
        conv_stride = 1 if self.avd else stride
        self.conv2 = SplitAttentionConv2d(
            width, width, 3, stride=conv_stride, padding=dilation,
            dilation=dilation, groups=groups, radix=radix, reduction_factor=reduction_factor,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, dcn=dcn_for_stride(dcn, conv_stride),
            attention_norm_cfg=attention_norm_cfg)
        if self.avd:
            self.avd_layer = nn.AvgPool2d(3, stride, padding=1)

    def _forward(self, x):
        out = self.run_plugins('after_conv1', self.relu(self.norm1(self.conv1(x))))
        if self.avd and self.avd_first:
            out = self.avd_layer(out)
        out = self.conv2(out)
        if self.avd and not self.avd_first:
            out = self.avd_layer(out)
        out = self.run_plugins('after_conv3', self.norm3(self.conv3(
            self.run_plugins('after_conv2', out))))
        # in place: the norm's backward does not need its output
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


@MODELS.register_module()
class ResNeSt(ResNetSkeleton):
    """ResNeSt backbone.

    Defaults are those of the official ResNeSt-50 (radix 2, one cardinal group, deep stem of
    64 channels, avg-down shortcuts, avd after the split-attention conv); ResNeSt-101/200/269
    use ``stem_channels=128``, the ResNeSt-50 "fast" models ``avd_first=True``.

    Args:
        depth (int): Network depth, from {14, 26, 50, 101, 152, 200, 269} (14 and 26:
            GluonCV's ResNeSt-14/26; 152: the depth the toolboxes' ResNeSt also builds, of
            which no weights were released).
        radix (int): Splits per cardinal group; 1 gives a sigmoid, SE-like attention.
            Defaults to 2.
        groups (int): Cardinality. Defaults to 1.
        base_width (int): Bottleneck width per group in the first stage. Defaults to 64.
        reduction_factor (int): Channel reduction of the attention's hidden layer (which has
            at least 32 channels). Defaults to 4.
        avd (bool): Down-sample with an average pool in the bottleneck instead of a strided
            conv. Defaults to True.
        avd_first (bool): Put that pool before the split-attention conv (the ResNeSt "fast"
            models) instead of after it. Defaults to False.
        attention_norm_cfg (dict, optional): Norm layer of the split attention (``bn1``),
            which normalises globally pooled features, one value per channel and image: with
            one image per GPU, BatchNorm cannot train there (a clear error names the layer);
            use SyncBN across GPUs or GroupNorm with two or more channels per group,
            e.g. ``dict(type='GN', num_groups=16)`` (the attention of layer1 has 32
            channels at the default widths).
            Defaults to None (``norm_cfg``).
        stem_channels (int): Output channels of the deep stem (128 for ResNeSt-101/200/269).
            Defaults to 64.
        deep_stem (bool): Three 3x3 stem convolutions. Defaults to True.
        avg_down (bool): Average-pool shortcut down-sampling (ResNet-D). Defaults to True.
        **kwargs: The other arguments of :class:`ResNetSkeleton` (``in_channels``,
            ``base_channels``, ``strides``, ``dilations``, ``contract_dilation``,
            ``out_indices``, ``frozen_stages``, ``conv_cfg``, ``norm_cfg``, ``norm_eval``,
            ``with_cp``, ``zero_init_residual``, ``channels_last``, ``init_cfg``, and mmdet's
            ``dcn``, ``stage_with_dcn``, ``plugins``, ``style``, ``num_stages``,
            ``pretrained``), each with its type and default there. ``dcn`` makes the
            split-attention conv (``conv2.conv``) deformable.

    Example:
        >>> import torch
        >>> from mmfish.models import ResNeSt
        >>> model = ResNeSt(depth=50, radix=2).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 224, 224))]
        [(1, 256, 56, 56), (1, 512, 28, 28), (1, 1024, 14, 14), (1, 2048, 7, 7)]
    """
    block = ResNeStBottleneck
    arch_settings = {14: (1, 1, 1, 1), 26: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3),
                     152: (3, 8, 36, 3), 200: (3, 24, 36, 3), 269: (3, 30, 48, 8)}
    argument_kinds = dict(radix=1, reduction_factor=1, avd=bool, avd_first=bool,
                          attention_norm_cfg=check_optional_norm_cfg)

    def __init__(self, depth, radix=2, groups=1, base_width=64, reduction_factor=4,
                 avd=True, avd_first=False, stem_channels=64, deep_stem=True, avg_down=True,
                 attention_norm_cfg=None, **kwargs):
        super().__init__(depth, stem_channels=stem_channels, deep_stem=deep_stem,
                         avg_down=avg_down, **kwargs)
        #: the block arguments, checked here and given to every block
        self.block_kwargs = dict(radix=radix, groups=groups, base_width=base_width,
                                 reduction_factor=reduction_factor, avd=avd,
                                 avd_first=avd_first, attention_norm_cfg=attention_norm_cfg)
        check_arguments(kinds=self.argument_kinds, **self.block_kwargs)
        self._check_widths(radix, groups, base_width, reduction_factor, attention_norm_cfg)
        self.build_layers(functools.partial(ResNeStBottleneck, **self.block_kwargs))

    def _check_widths(self, radix, groups, base_width, reduction_factor,
                      attention) -> None:
        """Raise a ValueError naming the arguments when a stage's split-attention conv would
        have no channels or channels its radix, groups or attention norm cannot split."""
        hiddens = []
        for i, planes in enumerate(self.stage_planes):
            per_group = bottleneck_width(planes, base_width)
            where = f'layer{i + 1} (int({planes} * base_width={base_width} / 64) = {per_group})'
            if per_group < 1:
                raise ValueError(f'base_width={base_width} with base_channels='
                                 f'{self.base_channels} gives 0 channels per cardinal group in '
                                 f'{where}: use base_width >= {math.ceil(64 / planes)}')
            if per_group % radix:
                raise ValueError(f'radix={radix} does not divide the channels per cardinal '
                                 f'group of {where}: the split-attention conv splits them into '
                                 f'radix parts; use a radix that divides {per_group}, or '
                                 f'change base_width or base_channels')
            hidden = attention_channels(per_group * groups, radix, reduction_factor)
            if hidden % groups:
                raise ValueError(f'groups={groups} does not divide the {hidden} channels of '
                                 f'the attention layer (fc1) of layer{i + 1}: '
                                 f'max(width * radix // reduction_factor, 32) with width '
                                 f'{per_group * groups}, radix={radix}, reduction_factor='
                                 f'{reduction_factor}; use groups dividing {hidden}')
            hiddens.append(hidden)
        if attention is not None and is_group_norm(attention) \
                and any(h % attention['num_groups'] for h in hiddens):
            gcd = math.gcd(*hiddens)
            valid = divisors(gcd)
            raise ValueError(f'attention_norm_cfg={attention!r}: num_groups='
                             f"{attention['num_groups']} does not divide the channels of the "
                             f'attention norms (conv2.bn1: {", ".join(map(str, hiddens))} in '
                             f'layer1..4); valid num_groups: {", ".join(map(str, valid))}')
