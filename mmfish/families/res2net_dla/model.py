"""Res2Net-DLA (Gao et al., TPAMI 2021): Deep Layer Aggregation (Yu et al., CVPR 2018) with
Res2Net bottlenecks, as released in Res2Net/Res2Net-PretrainedModels (``dla.py``:
``res2net_dla60``, ``res2next_dla60``).

A stem of three convolutions (``base_layer`` 7x7 at stride 1, ``level0`` 3x3, ``level1`` 3x3 at
stride 2), then four aggregation trees (``level2`` .. ``level5``, each at stride 2). A tree of
one level is two blocks and a ``root`` (1x1 conv, BN, ReLU over the concatenation of the two
blocks' outputs and the tree's ``children``); a deeper tree nests two shallower ones, and the
top trees of ``level3`` .. ``level5`` (``level_root``) pass their max-pooled input to their last
root. The blocks are Res2Net bottlenecks of expansion 2 whose shortcut comes from the tree: the
max-pooled input, projected by ``project`` (1x1 conv, BN) where the channels change.

Module names are the official ones (``base_layer``, ``level0`` .. ``level5``, ``tree1``,
``tree2``, ``root``, ``project``), so the released weights load after prefixing ``backbone.``.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule

from ...core.base import BackboneBase, bottleneck_width, conv_norm_relu
from ...core.checks import NUM_LEVELS, check_arguments, check_choice, is_int
from ...registry import MODELS
from ..res2net.model import Bottle2neck


class DLABottle2neck(Bottle2neck):
    """The Res2Net bottleneck of ``dla.py`` (``Bottle2neck``, and ``Bottle2neckX`` with
    ``groups=8, base_width=4``): mmfish's :class:`~.res2net.Bottle2neck` with expansion 2 and
    the shortcut given by the tree.

    Its splits and stride are those of the official DLA block: a strided block (the official
    ``stype='stage'``, here ``first``) does not add the splits' outputs to each other, strides
    every split convolution and average-pools the last split (3x3, padding 1); the split width
    is ``floor(out_channels / 2 * base_width / 64) * groups`` (the official
    ``floor(planes * baseWidth / 128)``, and ``planes * 8 // 32`` for Res2NeXt, wherever the
    official grouped convolutions can be built).
    """
    expansion = 2

    def __init__(self, in_channels, out_channels, stride=1, scales=4, base_width=28, groups=1,
                 conv_cfg=None, norm_cfg=dict(type='BN'), with_cp=False, init_cfg=None):
        super().__init__(in_channels, out_channels // self.expansion, stride=stride,
                         first=stride != 1, scales=scales, base_width=base_width,
                         groups=groups, conv_cfg=conv_cfg, norm_cfg=norm_cfg, with_cp=with_cp,
                         init_cfg=init_cfg)


class Root(BaseModule):
    """1x1 conv, norm and ReLU over the concatenated children (official ``Root`` without its
    residual, which the released models do not use)."""

    def __init__(self, in_channels, out_channels, conv_cfg=None, norm_cfg=dict(type='BN')):
        super().__init__()
        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels, 1, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)

    def forward(self, *children):
        return self.relu(self.bn(self.conv(torch.cat(children, 1))))


class Tree(BaseModule):
    """An aggregation tree of ``levels`` levels (official ``Tree``, ``root_residual=False``).

    ``project`` is built wherever the channels change, as the official code does; a tree of
    more than one level never uses it (its first subtree makes its own shortcut), so it is
    kept only for the released weights (and their published parameter count), its
    parameters do not take gradients, and it is not computed.

    The shortcut's max-pool rounds up (``ceil_mode``) as the blocks' padded strided
    convolutions do, so any input size works; where the official floor-mode pool works (even
    sizes) the two are the same.
    """

    def __init__(self, levels, make_block, in_channels, out_channels, stride=1,
                 level_root=False, root_dim=0, conv_cfg=None, norm_cfg=dict(type='BN')):
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        if levels == 1:
            self.tree1 = make_block(in_channels, out_channels, stride)
            self.tree2 = make_block(out_channels, out_channels, 1)
            self.root = Root(root_dim, out_channels, conv_cfg, norm_cfg)
        else:
            common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
            self.tree1 = Tree(levels - 1, make_block, in_channels, out_channels, stride,
                              **common)
            self.tree2 = Tree(levels - 1, make_block, out_channels, out_channels,
                              root_dim=root_dim + out_channels, **common)
        self.levels = levels
        self.level_root = level_root
        self.downsample = (nn.MaxPool2d(stride, stride=stride, ceil_mode=True)
                           if stride > 1 else None)
        self.project = None
        if in_channels != out_channels:
            self.project = nn.Sequential(
                build_conv_layer(conv_cfg, in_channels, out_channels, 1, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1])
            if levels > 1:  # unused (see above): no gradients, so DDP need not look for them
                self.project.requires_grad_(False)

    def forward(self, x, children: Optional[list] = None):
        children = [] if children is None else children
        needs_bottom = self.levels == 1 or self.level_root
        bottom = self.downsample(x) if needs_bottom and self.downsample is not None else x
        if self.level_root:
            children.append(bottom)
        if self.levels == 1:
            residual = self.project(bottom) if self.project is not None else bottom
            x1 = self.tree1(x, residual)
            x2 = self.tree2(x1)
            return self.root(x2, x1, *children)
        x1 = self.tree1(x)
        children.append(x1)
        return self.tree2(x1, children=children)


@MODELS.register_module()
class Res2NetDLA(BackboneBase):
    """Res2Net-DLA and Res2NeXt-DLA backbones.

    The defaults are the official Res2Net-DLA-60 (``res2net_dla60``); Res2NeXt-DLA-60
    (``res2next_dla60``) is ``groups=8, base_width=4``. The pyramid levels are the outputs of
    ``level2`` .. ``level5`` (strides 4, 8, 16 and 32; 128, 256, 512 and 1024 channels).

    Args:
        depth (int): Network depth, from {60} (the trees' levels ``(1, 1, 1, 2, 3, 1)``).
        in_channels (int): Channels of the input image. Defaults to 3.
        channels (Sequence[int]): Output channels of ``base_layer`` and ``level0`` (the
            first), ``level1`` and ``level2`` .. ``level5``; the last four must be even.
            Defaults to (16, 32, 128, 256, 512, 1024).
        scales (int): Number of splits of a bottleneck. Defaults to 4.
        base_width (int): Channels of one split per group in ``level2`` at 128 channels
            (a level of ``c`` channels has ``floor(c / 2 * base_width / 64) * groups``).
            Defaults to 28.
        groups (int): Groups of the split convolutions; 8 (with ``base_width=4``) gives
            Res2NeXt-DLA. Defaults to 1.
        **kwargs: The arguments of :class:`BackboneBase`, each with its type and default
            there: ``out_indices`` (0..3: ``level2`` .. ``level5`` at strides 4, 8, 16 and
            32), ``frozen_stages`` (-1 freezes nothing, 0 the stem: ``base_layer``,
            ``level0``, ``level1``; k the stem and ``level2`` .. ``level{k + 1}``),
            ``conv_cfg``, ``norm_cfg``, ``norm_eval``, ``with_cp`` (in every bottleneck),
            ``zero_init_residual`` (the last norm of each bottleneck), ``channels_last`` and
            ``init_cfg``. Any other name is refused with the closest valid one (and mmdet's
            ResNet arguments that do not apply, such as ``dcn`` or ``style``, with the
            reason).

    Inputs: (N, ``in_channels``, H, W) floating-point tensors of any size from 1x1 up: every
    stride-2 layer gives ``ceil(size / 2)``, so level ``i`` is ``ceil(H / r) x ceil(W / r)``
    with ``r = 4 * 2**i``. (The official code, whose shortcut pools round down, needs sides
    that are multiples of 32; on those the outputs are the same.)

    Example:
        >>> import torch
        >>> from mmfish.models import Res2NetDLA
        >>> model = Res2NetDLA(depth=60).eval()
        >>> x = torch.rand(1, 3, 224, 224)
        >>> [tuple(o.shape) for o in model(x)]
        [(1, 128, 56, 56), (1, 256, 28, 28), (1, 512, 14, 14), (1, 1024, 7, 7)]
    """
    #: depth -> levels of base_layer/level0 convs, level1 convs, and the trees of level2..5
    arch_settings = {60: (1, 1, 1, 2, 3, 1)}
    argument_kinds = dict(scales=1)
    default_channels = (16, 32, 128, 256, 512, 1024)
    min_size = 1

    def __init__(self, depth: int, in_channels: int = 3,
                 channels: Sequence[int] = (16, 32, 128, 256, 512, 1024), scales: int = 4,
                 base_width: int = 28, groups: int = 1, **kwargs):
        super().__init__(**kwargs)
        check_choice('depth', depth, self.arch_settings)
        check_arguments(kinds=self.argument_kinds, in_channels=in_channels, scales=scales,
                        base_width=base_width, groups=groups)
        self.depth = depth
        self.in_channels = in_channels
        self.channels = self._check_channels(channels, base_width)
        self.scales = scales
        self.base_width = base_width
        self.groups = groups

        levels, channels = self.arch_settings[depth], self.channels
        self.base_layer = self._conv_level(in_channels, channels[0], 1, 1, kernel_size=7)
        self.level0 = self._conv_level(channels[0], channels[0], levels[0], 1)
        self.level1 = self._conv_level(channels[0], channels[1], levels[1], 2)

        def make_block(cin, cout, stride):
            return DLABottle2neck(cin, cout, stride, scales=scales, base_width=base_width,
                                  groups=groups, conv_cfg=self.conv_cfg,
                                  norm_cfg=self.norm_cfg, with_cp=self.with_cp)

        self.feature_info = []
        for i in range(NUM_LEVELS):
            name = f'level{i + 2}'
            self.add_module(name, Tree(levels[i + 2], make_block, channels[i + 1],
                                       channels[i + 2], 2, level_root=i > 0,
                                       conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
            self.feature_info.append(dict(num_chs=channels[i + 2], reduction=4 * 2**i,
                                          module=name))
        self._finish_init()

    @classmethod
    def _check_channels(cls, channels, base_width) -> tuple:
        try:
            channels = tuple(channels)
            valid = len(channels) == 6 and all(is_int(c) and c >= 1 for c in channels)
        except TypeError:  # not a sequence
            valid = False
        if not valid:
            raise ValueError(f'channels={channels!r} is invalid: give 6 integers >= 1, the '
                             f'output channels of base_layer/level0, level1 and level2..level5, '
                             f'e.g. {cls.default_channels}')
        for i, c in enumerate(channels[2:], start=2):
            if c % 2:
                raise ValueError(f'channels={channels}: level{i} has {c} channels, an odd '
                                 f'number; its bottlenecks (expansion 2) need even channels')
            if bottleneck_width(c // 2, base_width) < 1:  # the width of one split per group
                raise ValueError(
                    f'base_width={base_width} with channels={channels} gives splits of '
                    f'floor({c // 2} * {base_width} / 64) * groups = 0 channels in level{i}: '
                    f'use base_width >= {-(-64 // (c // 2))} or more channels')
        return channels

    def _conv_level(self, cin, cout, convs, stride, kernel_size=3):
        layers = []
        for i in range(convs):
            layers += conv_norm_relu(self.conv_cfg, self.norm_cfg, cin, cout, kernel_size,
                                     stride=stride if i == 0 else 1)
            cin = cout
        return nn.Sequential(*layers)

    def stage_modules(self) -> list:
        stem = nn.ModuleList([self.base_layer, self.level0, self.level1])
        return [stem] + [getattr(self, f'level{i + 2}') for i in range(NUM_LEVELS)]

    def forward_levels(self, x):
        x = self.level1(self.level0(self.base_layer(x)))
        for i in range(NUM_LEVELS):
            x = getattr(self, f'level{i + 2}')(x)
            yield x
