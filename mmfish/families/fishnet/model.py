"""FishNet (Sun et al., NeurIPS 2018): a fish-like backbone that keeps every resolution.

* The *tail* is a down-sampling ResNet of pre-activation bottlenecks (strides 8, 16, 32 after
  the stride-4 stem).
* A *bridge* at stride 32 applies the score layers and an SE-style attention.
* The *body* climbs back to stride 4 with UR-blocks (up-sampling and refinement): a first block
  whose shortcut sums groups of ``k`` adjacent channels (no isolated 1x1 conv), dilated blocks,
  nearest up-sampling, and the tail's feature of the same resolution concatenated after its own
  *transfer* blocks.
* The *head* descends again to stride 32 with DR-blocks (down-sampling and refinement): blocks,
  a 2x2 max-pool and the concatenated body (or bridge) feature of that resolution.

Pyramid levels returned by :class:`FishNet` (channels for ``base_channels=64``):

======  ======  ======================================================  ========
level   stride  fish stage                                              channels
======  ======  ======================================================  ========
0       4       last body stage (its UR-block output + the stem)        320
1       8       first head stage (+ the body's stride-8 feature)        832
2       16      second head stage (+ the body's stride-16 feature)      1600
3       32      last head stage (+ the bridge feature); the classifier  2112
======  ======  ======================================================  ========

The official code needs inputs whose sides are multiples of 32; here the body up-samples to
the size of the feature it is concatenated with, so any input from 32x32 up works, and on
multiples of 32 the result is the same. Level ``i`` has the size
``floor(ceil(H / 4) / 2**i) x floor(ceil(W / 4) / 2**i)``: the stem's stride-2 conv and the
max-pool round up, the tail's 2x2 max-pools round down (and the head's pools match them).
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer

from ...core.base import BackboneBase, ResidualBlock, bottleneck_width
from ...core.checks import check_arguments, check_choice
from ...core.layers.dcn import dcn_for_stride, nchw_safe
from ...core.layers.memory_format import sum_channel_groups
from ...core.layers.plugins import stage_plugins
from ...registry import MODELS
from .neck import PRE_ACT, FishScore


class FishBlock(ResidualBlock):
    """The pre-activation bottleneck of FishNet: (BN, ReLU, conv) x 3 plus a shortcut.

    Args:
        squeeze: for the first block of a UR-block, the ``k`` of the paper: the shortcut sums
            each group of ``k`` adjacent input channels (``in_channels == k * out_channels``)
            instead of using a 1x1 convolution.
        groups, base_width: grouped 3x3 convolution (FishNeXt); with ``groups=1`` the
            bottleneck has ``out_channels // 4`` channels, as in FishNet.
        dcn: an mmcv ``DCN`` / ``DCNv2`` config for the 3x3 convolution (``conv2.conv``).
        plugins: mmcv plugin layers at ``after_conv1`` / ``after_conv2`` / ``after_conv3``
            (the last before the shortcut is added), see :mod:`mmfish.core.layers.plugins`.
    """

    def __init__(self, in_channels, out_channels, stride=1, dilation=1, squeeze=0, groups=1,
                 base_width=64, conv_cfg=None, norm_cfg=dict(type='BN'), with_cp=False,
                 dcn=None, plugins=()):
        super().__init__(with_cp)
        mid = self.width(out_channels, groups, base_width)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, order=PRE_ACT)
        self.conv1 = ConvModule(in_channels, mid, 1, **cfg)
        dcn = dcn_for_stride(dcn, stride)
        if dcn is not None:
            import mmcv.ops  # noqa: F401  (registers DCN and DCNv2 as conv layers)
        self.conv2 = ConvModule(mid, mid, 3, stride=stride, padding=dilation, dilation=dilation,
                                groups=groups, **dict(cfg, conv_cfg=dcn or conv_cfg))
        nchw_safe(self.conv2.conv)
        self.conv3 = ConvModule(mid, out_channels, 1, **cfg)
        self.squeeze = squeeze
        if squeeze:
            if in_channels != squeeze * out_channels:
                raise ValueError(f'a squeeze shortcut needs in_channels = k * out_channels, got '
                                 f'{in_channels} = {squeeze} * {out_channels}')
            self.shortcut = None
        elif in_channels != out_channels or stride > 1:
            self.shortcut = ConvModule(in_channels, out_channels, 1, stride=stride, **cfg)
        else:
            self.shortcut = None
        self.add_plugins(plugins, dict(after_conv1=mid, after_conv2=mid,
                                       after_conv3=out_channels))

    @staticmethod
    def width(out_channels: int, groups: int = 1, base_width: int = 64) -> int:
        """The bottleneck's channels: a quarter of the output's, or with ``groups > 1``
        (FishNeXt) ``groups`` groups of ``int(out_channels / 4 * base_width / 64)``."""
        mid = out_channels // 4
        return bottleneck_width(mid, base_width, groups) if groups > 1 else mid

    def zero_init_last(self):
        nn.init.zeros_(self.conv3.conv.weight)

    def _forward(self, x):
        out = self.run_plugins('after_conv1', self.conv1(x))
        out = self.run_plugins('after_conv2', self.conv2(out))
        out = self.run_plugins('after_conv3', self.conv3(out))
        if self.squeeze > 1:
            identity = sum_channel_groups(x, self.squeeze)
        elif self.shortcut is not None:
            identity = self.shortcut(x)
        else:
            identity = x
        out += identity  # in place: the conv's backward does not need its output
        return out


class FishSE(nn.Module):
    """The bridge's attention: BN, ReLU, global pool, 1x1 squeeze, ReLU, 1x1 excite, sigmoid."""

    def __init__(self, in_channels, out_channels, norm_cfg=dict(type='BN')):
        super().__init__()
        self.norm_name, norm = build_norm_layer(norm_cfg, in_channels)
        self.add_module(self.norm_name, norm)
        self.squeeze = nn.Conv2d(in_channels, out_channels // 16, 1)
        self.excite = nn.Conv2d(out_channels // 16, out_channels, 1)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(F.relu(getattr(self, self.norm_name)(x)), 1)
        return self.excite(F.relu(self.squeeze(x))).sigmoid()


def _blocks(in_channels, out_channels, num, level, dilation=1, squeeze=0, level_dcn=None,
            level_plugins=None, **cfg) -> nn.Sequential:
    """``num`` blocks that run at pyramid level ``level`` (stride ``4 * 2**level``), with the
    deformable convolutions and plugins of that level."""
    cfg = dict(cfg, dcn=(level_dcn or {}).get(level),
               plugins=stage_plugins(level_plugins, level) if level_plugins else ())
    first = FishBlock(in_channels, out_channels, dilation=dilation, squeeze=squeeze, **cfg)
    return nn.Sequential(first, *(FishBlock(out_channels, out_channels, dilation=dilation, **cfg)
                                  for _ in range(1, num)))


class TailStage(nn.Module):
    """Residual blocks, then a 2x2 max-pool."""

    def __init__(self, in_channels, out_channels, num_blocks, level=0, **cfg):
        super().__init__()
        self.blocks = _blocks(in_channels, out_channels, num_blocks, level, **cfg)
        self.pool = nn.MaxPool2d(2, stride=2)

    def forward(self, x):
        return self.pool(self.blocks(x))


class Bridge(nn.Module):
    """Score layers at stride 32, then blocks gated by the SE attention: ``y * a + a``."""

    def __init__(self, in_channels, out_channels, num_blocks, **cfg):
        super().__init__()
        self.score = FishScore(in_channels, 2 * out_channels, conv_cfg=cfg['conv_cfg'],
                               norm_cfg=cfg['norm_cfg'])
        self.blocks = _blocks(2 * out_channels, out_channels, num_blocks, 3, **cfg)
        self.se = FishSE(2 * out_channels, out_channels, norm_cfg=cfg['norm_cfg'])

    def forward(self, x):
        x = self.score(x)
        attention = self.se(x)
        return torch.addcmul(attention, self.blocks(x), attention)


class URStage(nn.Module):
    """Body stage (UR-block): squeeze-shortcut and dilated blocks, nearest up-sampling to the
    lateral feature's size, concatenation with the lateral feature after its transfer blocks."""

    def __init__(self, in_channels, out_channels, lateral_channels, num_blocks, num_transfer,
                 dilation, level=3, **cfg):
        super().__init__()
        self.blocks = _blocks(in_channels, out_channels, num_blocks, level, dilation=dilation,
                              squeeze=in_channels // out_channels, **cfg)
        self.transfer = _blocks(lateral_channels, lateral_channels, num_transfer, level - 1,
                                **cfg)

    def forward(self, x, lateral):
        x = F.interpolate(self.blocks(x), size=lateral.shape[-2:], mode='nearest')
        return torch.cat([x, self.transfer(lateral)], 1)


class DRStage(nn.Module):
    """Head stage (DR-block): blocks, 2x2 max-pool, concatenation with the lateral feature
    after its transfer blocks."""

    def __init__(self, in_channels, out_channels, lateral_channels, num_blocks, num_transfer,
                 level=0, **cfg):
        super().__init__()
        self.blocks = _blocks(in_channels, out_channels, num_blocks, level, **cfg)
        self.pool = nn.MaxPool2d(2, stride=2)
        self.transfer = _blocks(lateral_channels, lateral_channels, num_transfer, level + 1,
                                **cfg)

    def forward(self, x, lateral):
        return torch.cat([self.pool(self.blocks(x)), self.transfer(lateral)], 1)


@MODELS.register_module()
class FishNet(BackboneBase):
    """FishNet backbone (and FishNeXt with ``groups > 1``).

    Args:
        depth (int): Network depth, from {99, 150, 201}.
        in_channels (int): Channels of the input image. Defaults to 3.
        base_channels (int): Stem channels, a multiple of 8; every stage's width scales with
            it (64 is the paper's). Defaults to 64.
        groups (int): Groups of the bottlenecks' 3x3 convs (FishNeXt). Defaults to 1.
        base_width (int): Width per group at 64 planes, see :class:`FishBlock`. Defaults to
            64.
        zero_init_residual (bool): Zero the last conv of every block (off in the official
            training). Defaults to False.
        dcn (dict, optional): mmdet's deformable convolutions, ``dict(type='DCN' or 'DCNv2',
            deform_groups=1)``: the 3x3 convolution (``conv2.conv``) of every FishBlock that
            runs at a pyramid level marked by ``stage_with_dcn`` becomes mmcv's
            ``DeformConv2dPack`` / ``ModulatedDeformConv2dPack`` (FishBlocks never stride, so
            ``fallback_on_stride`` changes nothing). Not with ``conv_cfg``. Defaults to None.
        stage_with_dcn (Sequence[bool]): 4 bools, one per pyramid level, i.e. per resolution
            where blocks run, as ResNet's 4 stages run at strides 4, 8, 16 and 32. Entry ``i``
            (stride ``4 * 2**i``) covers the FishBlocks of ``tail.i`` (i < 3) or the bridge
            (i = 3), of ``body.(3 - i).blocks`` and ``body.(2 - i).transfer``, and of
            ``head.i.blocks`` and ``head.(i - 1).transfer``: the fish's tail, body and head
            at that resolution (the stem, the score layers and the SE attention stay regular).
            E.g. ``(False, True, True, True)`` makes every block at strides 8 to 32
            deformable. Defaults to (False, False, False, False).
        plugins (list[dict], optional): mmdet's plugin layers (``ContextBlock``, ...), with
            ``position`` ``'after_conv1'`` / ``'after_conv2'`` / ``'after_conv3'`` in a
            FishBlock and ``stages`` the 4 pyramid levels as for ``stage_with_dcn``; named as
            in mmdet (``tail.1.blocks.0.context_block``). Defaults to None.
        style (str): mmdet's stride placement: only ``'pytorch'``; FishBlocks never stride,
            and ``'caffe'`` is refused. Defaults to 'pytorch'.
        num_stages (int): mmdet's number of stages: only 4. Defaults to 4.
        pretrained (str, optional): Deprecated, as in mmdet (see :class:`BackboneBase`).
            Defaults to None.
        **kwargs: The arguments of :class:`BackboneBase`, each with its type and default
            there: ``out_indices`` (see the module docstring), ``frozen_stages`` (-1 freezes
            nothing, 0 the stem, k the stem and the first k of the ten fish stages in
            execution order: 3 tail, the bridge, 3 body, 3 head), ``conv_cfg``, ``norm_cfg``
            (with GroupNorm, a number of groups that divides 16 channels, e.g.
            ``num_groups=16``), ``norm_eval``, ``with_cp``, ``channels_last`` and
            ``init_cfg``; any other name is refused with the closest valid one.

    Example:
        >>> import torch
        >>> from mmfish.models import FishNet
        >>> model = FishNet(depth=99).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 224, 224))]
        [(1, 320, 56, 56), (1, 832, 28, 28), (1, 1600, 14, 14), (1, 2112, 7, 7)]
    """
    #: blocks per stage: tail (3), bridge, body (3), head (3); transfer blocks: body, head
    arch_settings = {
        99: dict(blocks=(2, 2, 6, 2, 1, 1, 1, 1, 2, 2), transfer=(1, 1, 1, 1, 1, 4)),
        150: dict(blocks=(2, 4, 8, 4, 2, 2, 2, 2, 2, 4), transfer=(2, 2, 2, 2, 2, 4)),
        201: dict(blocks=(3, 4, 12, 4, 2, 2, 2, 2, 3, 10), transfer=(2, 2, 2, 2, 2, 9)),
    }
    #: widths for base_channels=64: tail, bridge, body and head stages
    stage_channels = dict(tail=(128, 256, 512), bridge=512, body=(512, 384, 256),
                          head=(320, 832, 1600))
    #: smallest input side: the tail halves the stem's stride-4 feature three times
    min_size = 32

    mmdet_contract = True
    stage_kind = 'pyramid level (stride 4, 8, 16, 32)'

    def __init__(self, depth: int, in_channels: int = 3, base_channels: int = 64,
                 groups: int = 1, base_width: int = 64, zero_init_residual: bool = False,
                 dcn: Optional[dict] = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False),
                 plugins: Optional[list] = None, style: str = 'pytorch', num_stages: int = 4,
                 pretrained: Optional[str] = None, **kwargs):
        super().__init__(zero_init_residual=zero_init_residual, **kwargs, mmdet=dict(
            dcn=dcn, stage_with_dcn=stage_with_dcn, plugins=plugins, style=style,
            num_stages=num_stages, pretrained=pretrained))
        check_choice('depth', depth, self.arch_settings)
        check_arguments(dict(base_channels=8), base_channels=base_channels, groups=groups,
                        base_width=base_width, in_channels=in_channels)
        if base_channels % 8:
            raise ValueError(f'base_channels={base_channels} is invalid: use a multiple of 8 '
                             f'(64 for the published models)')
        if FishBlock.width(base_channels, groups, base_width) < 1:  # the narrowest blocks'
            raise ValueError(f'base_width={base_width} with base_channels={base_channels} gives '
                             f'FishNeXt bottlenecks of int({base_channels // 4} * {base_width} '
                             f'/ 64) = 0 channels per group in the {base_channels}-channel '
                             f'blocks (body.2.transfer): use base_width >= '
                             f'{math.ceil(256 / base_channels)}')
        self.depth = depth
        self.in_channels = in_channels
        blocks = self.arch_settings[depth]['blocks']
        transfer = self.arch_settings[depth]['transfer']

        def width(c):  # the stages' widths scale with base_channels
            return int(c * base_channels / 64)

        stem = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)
        cfg = dict(stem, with_cp=self.with_cp, groups=groups, base_width=base_width,
                   level_plugins=self.plugins,
                   level_dcn={i: self.dcn for i, on in enumerate(self.stage_with_dcn) if on})
        self.stem = nn.Sequential(
            ConvModule(in_channels, base_channels // 2, 3, stride=2, padding=1, **stem),
            ConvModule(base_channels // 2, base_channels // 2, 3, padding=1, **stem),
            ConvModule(base_channels // 2, base_channels, 3, padding=1, **stem))
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)

        tail_channels = [base_channels]  # the stem, then each tail stage
        self.tail = nn.ModuleList()
        for j, (c, n) in enumerate(zip(self.stage_channels['tail'], blocks[:3])):
            self.tail.append(TailStage(tail_channels[-1], width(c), n, level=j, **cfg))
            tail_channels.append(width(c))

        bridge_channels = width(self.stage_channels['bridge'])
        self.bridge = Bridge(tail_channels[-1], bridge_channels, blocks[3], **cfg)

        self.body = nn.ModuleList()
        body_channels = []
        channels = bridge_channels
        for j, (c, n, t) in enumerate(zip(self.stage_channels['body'], blocks[4:7], transfer)):
            lateral = tail_channels[2 - j]
            self.body.append(URStage(channels, width(c), lateral, n, t, dilation=2**j,
                                     level=3 - j, **cfg))
            channels = width(c) + lateral
            body_channels.append(channels)

        self.head = nn.ModuleList()
        level_channels = [channels]
        head_laterals = [body_channels[1], body_channels[0], bridge_channels]
        for j, (c, n, t, lateral) in enumerate(zip(self.stage_channels['head'], blocks[7:],
                                                   transfer[3:], head_laterals)):
            self.head.append(DRStage(channels, width(c), lateral, n, t, level=j, **cfg))
            channels = width(c) + lateral
            level_channels.append(channels)

        self.feature_info = [
            dict(num_chs=c, reduction=4 * 2**i, module=m)
            for i, (c, m) in enumerate(zip(level_channels, ['body.2', 'head.0', 'head.1',
                                                            'head.2']))
        ]
        self._finish_init()

    def stage_modules(self) -> list:
        return [self.stem, *self.tail, self.bridge, *self.body, *self.head]

    def forward_levels(self, x):
        x = self.maxpool(self.stem(x))
        tail = [x]
        for stage in self.tail:
            x = stage(x)
            tail.append(x)
        bridge = x = self.bridge(x)
        body = []
        for j, stage in enumerate(self.body):
            x = stage(x, tail[2 - j])
            body.append(x)
        levels = [x]
        for stage, lateral in zip(self.head, (body[1], body[0], bridge)):
            x = stage(x, lateral)
            levels.append(x)
        yield from levels  # level 0 feeds the head: every level is known only at the end


@MODELS.register_module()
class FishNeXt(FishNet):
    """FishNet with grouped (ResNeXt-style) bottlenecks.

    Args:
        depth (int): Network depth, from {99, 150, 201}.
        groups (int): Groups of the bottlenecks' 3x3 convs. Defaults to 32.
        base_width (int): Width per group at 64 planes. Defaults to 4.
        **kwargs: The other arguments of :class:`FishNet`, each with its type and default
            there.

    Example:
        >>> import torch
        >>> from mmfish.models import FishNeXt
        >>> model = FishNeXt(depth=150, out_indices=(2, 3)).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 224, 224))]
        [(1, 1600, 14, 14), (1, 2112, 7, 7)]
    """

    def __init__(self, depth: int, groups: int = 32, base_width: int = 4, **kwargs):
        super().__init__(depth, groups=groups, base_width=base_width, **kwargs)
