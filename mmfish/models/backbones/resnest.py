"""ResNeSt (Zhang et al., 2020): ResNet-D with split-attention bottlenecks.

The 3x3 convolution of a bottleneck produces ``radix`` groups of feature maps (within each of
``groups`` cardinal groups); a softmax over the radix, computed from their pooled sum, weights
and sums them. ResNeSt also down-samples in the bottleneck with an average pool (``avd``).
"""
import math

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer

from ...registry import MODELS
from .args import check_bool, check_int
from .base import is_channels_last
from .resnet_skeleton import Bottleneck, ResNetSkeleton


class SplitAttentionConv2d(nn.Module):
    """A convolution with ``radix`` splits per cardinal group and attention over the splits.

    Module names (``conv``, ``bn0``, ``fc1``, ``bn1``, ``fc2``) follow the official model.
    """

    def __init__(self, in_channels, channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, radix=2, reduction_factor=4, conv_cfg=None, norm_cfg=dict(type='BN')):
        super().__init__()
        inter_channels = max(in_channels * radix // reduction_factor, 32)
        self.radix = radix
        self.groups = groups
        self.channels = channels
        self.conv = build_conv_layer(conv_cfg, in_channels, channels * radix, kernel_size,
                                     stride=stride, padding=padding, dilation=dilation,
                                     groups=groups * radix, bias=False)
        self.norm0_name, norm0 = build_norm_layer(norm_cfg, channels * radix, postfix=0)
        self.add_module(self.norm0_name, norm0)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = build_conv_layer(None, channels, inter_channels, 1, groups=groups)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, inter_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.fc2 = build_conv_layer(None, inter_channels, channels * radix, 1, groups=groups)

    def forward(self, x):
        x = self.relu(getattr(self, self.norm0_name)(self.conv(x)))
        batch = x.shape[0]
        if self.radix == 1:
            attn = self._attention(F.adaptive_avg_pool2d(x, 1))
            return x * attn.sigmoid()
        if is_channels_last(x):
            # a (B, H, W, radix, C) view: one product and one reduction keep the layout
            splits = x.permute(0, 2, 3, 1).unflatten(3, (self.radix, self.channels))
            gap = splits.sum(3).mean((1, 2)).view(batch, self.channels, 1, 1)
            attn = self._attention(gap).view(batch, 1, 1, self.radix, self.channels)
            return (splits * attn).sum(3).permute(0, 3, 1, 2)
        splits = x.unflatten(1, (self.radix, self.channels))  # B, radix, C, H, W
        gap = F.adaptive_avg_pool2d(splits.sum(1), 1)
        attn = self._attention(gap).view(batch, self.radix, self.channels, 1, 1)
        return (splits * attn).sum(1)

    def _attention(self, gap):
        """(B, C, 1, 1) pooled features to (B, radix, C) weights (softmax over the radix
        within each cardinal group), or (B, C, 1, 1) logits for ``radix=1``."""
        gap = self.relu(getattr(self, self.norm1_name)(self.fc1(gap)))
        attn = self.fc2(gap)  # B, groups * radix * (C / groups): radix inside each group
        if self.radix == 1:
            return attn
        attn = attn.view(gap.shape[0], self.groups, self.radix, self.channels // self.groups)
        attn = attn.transpose(1, 2)
        return attn.softmax(dim=1).reshape(gap.shape[0], self.radix, self.channels)


class ResNeStBottleneck(Bottleneck):
    """Bottleneck with a split-attention 3x3 conv; with ``avd`` the stride moves to an average
    pool before (``avd_first``) or after the split-attention conv."""

    def __init__(self, in_channels, planes, stride=1, dilation=1, downsample=None, first=False,
                 radix=2, groups=1, base_width=64, reduction_factor=4, avd=True,
                 avd_first=False, conv_cfg=None, norm_cfg=dict(type='BN'), with_cp=False,
                 init_cfg=None):
        width = int(planes * base_width / 64) * groups
        super().__init__(in_channels, width, planes, downsample, conv_cfg, norm_cfg, with_cp,
                         init_cfg)
        self.avd = avd and stride > 1
        self.avd_first = avd_first
        self.conv2 = SplitAttentionConv2d(
            width, width, 3, stride=1 if self.avd else stride, padding=dilation,
            dilation=dilation, groups=groups, radix=radix, reduction_factor=reduction_factor,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if self.avd:
            self.avd_layer = nn.AvgPool2d(3, stride, padding=1)

    def transform(self, x):
        if self.avd and self.avd_first:
            x = self.avd_layer(x)
        x = self.conv2(x)
        if self.avd and not self.avd_first:
            x = self.avd_layer(x)
        return x


@MODELS.register_module()
class ResNeSt(ResNetSkeleton):
    """ResNeSt backbone.

    Defaults are those of the official ResNeSt-50 (radix 2, one cardinal group, deep stem of
    64 channels, avg-down shortcuts, avd after the split-attention conv); ResNeSt-101/200/269
    use ``stem_channels=128``.

    Args:
        depth (int): Network depth, from {50, 101, 200, 269}.
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
        stem_channels (int): Output channels of the deep stem (128 for ResNeSt-101/200/269).
            Defaults to 64.
        deep_stem (bool): Three 3x3 stem convolutions. Defaults to True.
        avg_down (bool): Average-pool shortcut down-sampling (ResNet-D). Defaults to True.
        **kwargs: The other arguments of :class:`ResNetSkeleton` (``in_channels``,
            ``base_channels``, ``strides``, ``dilations``, ``contract_dilation``,
            ``out_indices``, ``frozen_stages``, ``conv_cfg``, ``norm_cfg``, ``norm_eval``,
            ``with_cp``, ``zero_init_residual``, ``channels_last``, ``init_cfg``), each with
            its type and default there.

    Example:
        >>> import torch
        >>> model = ResNeSt(depth=50).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 224, 224))]
        [(1, 256, 56, 56), (1, 512, 28, 28), (1, 1024, 14, 14), (1, 2048, 7, 7)]
    """
    block = ResNeStBottleneck
    arch_settings = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 200: (3, 24, 36, 3),
                     269: (3, 30, 48, 8)}
    block_arguments = ('radix', 'groups', 'base_width', 'reduction_factor', 'avd', 'avd_first')

    def __init__(self, depth, radix=2, groups=1, base_width=64, reduction_factor=4,
                 avd=True, avd_first=False, stem_channels=64, deep_stem=True, avg_down=True,
                 **kwargs):
        for name, value in (('radix', radix), ('groups', groups), ('base_width', base_width),
                            ('reduction_factor', reduction_factor)):
            check_int(name, value)
        check_bool('avd', avd)
        check_bool('avd_first', avd_first)
        super().__init__(depth, stem_channels=stem_channels, deep_stem=deep_stem,
                         avg_down=avg_down, radix=radix, groups=groups, base_width=base_width,
                         reduction_factor=reduction_factor, avd=avd, avd_first=avd_first,
                         **kwargs)
        self.radix, self.groups, self.base_width = radix, groups, base_width

    def _check_block_widths(self) -> None:
        kw = self.block_kwargs
        radix, groups, base_width = kw['radix'], kw['groups'], kw['base_width']
        for i in range(len(self.strides)):
            planes = self.base_channels * 2**i
            per_group = int(planes * base_width / 64)  # as ResNeStBottleneck computes it
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
            hidden = max(per_group * groups * radix // kw['reduction_factor'], 32)
            if hidden % groups:
                raise ValueError(f'groups={groups} does not divide the {hidden} channels of '
                                 f'the attention layer (fc1) of layer{i + 1}: '
                                 f'max(width * radix // reduction_factor, 32) with width '
                                 f'{per_group * groups}, radix={radix}, reduction_factor='
                                 f"{kw['reduction_factor']}; use groups dividing {hidden}")
