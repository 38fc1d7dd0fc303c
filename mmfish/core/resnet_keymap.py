"""Key layouts and variant detection shared by Res2Net and ResNeSt: both are ResNets whose
official, timm and OpenMMLab checkpoints differ only in the stem and a few shortcut indices."""
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch

from ..checkpoint.io import ConversionError
from ..checkpoint.keys import TASK_PREFIXES
from .keymap import count_blocks, fail_unplaced, rename

LAYOUTS = ('official / timm (conv1, bn1, layer1..4, fc)',
           'OpenMMLab mmdet / mmseg / mmpretrain / mmpose (backbone.*, head.fc.*; a backbone '
           'alone also without the prefix: stem.*, layer1..4)')
#: the layout of OpenMMLab checkpoints (:func:`to_mmfish_keys`), and that of an OpenMMLab
#: backbone's state dict saved without the ``backbone.`` prefix
OPENMMLAB, OPENMMLAB_BARE = 'openmmlab', 'openmmlab (without the backbone. prefix)'

OFFICIAL_RULES = [
    (r'^conv1\.weight$', 'backbone.conv1.weight'),  # 7x7 stem
    (r'^conv1\.(\d+)\.', r'backbone.stem.\1.'),  # deep stem: conv, bn, relu, ... conv
    (r'^layer', 'backbone.layer'),
    (r'^fc\.', 'head.fc.'),
]
OPENMMLAB_RULES = [
    # mmpretrain's deep stem is three ConvModules: stem.<i>.conv / stem.<i>.bn
    *[(rf'^backbone\.stem\.{i}\.conv\.', f'backbone.stem.{3 * i}.') for i in range(3)],
    *[(rf'^backbone\.stem\.{i}\.bn\.', f'backbone.stem.{3 * i + 1}.') for i in range(3)],
    (r'^backbone\.', 'backbone.'),
    (r'^head\.fc\.', 'head.fc.'),
] + [('^' + re.escape(p), None) for p in TASK_PREFIXES]


def to_mmfish_keys(state: Dict[str, torch.Tensor], source: str, family: str):
    """Rename a checkpoint of any known layout to mmfish keys.

    Returns ``(state, layout, dropped)``: ``dropped`` lists the keys of a detector's or
    segmentor's other parts (necks, heads), which belong to no backbone.
    """
    if any(k.startswith('backbone.') for k in state):
        layout = OPENMMLAB
        out, unplaced, dropped = rename(state, OPENMMLAB_RULES)
    elif _bare_openmmlab(state):
        layout = OPENMMLAB_BARE
        prefixed = OrderedDict((f'backbone.{k}' if re.match(r'(stem|layer\d)\.', k) else k, v)
                               for k, v in state.items())
        out, unplaced, dropped = rename(prefixed, OPENMMLAB_RULES)
    else:
        layout = 'official'
        deep_stem = 'conv1.0.weight' in state
        rules = OFFICIAL_RULES + [(r'^bn1\.', 'backbone.stem.7.' if deep_stem else 'backbone.bn1.')]
        out, unplaced, dropped = rename(state, rules)
    fail_unplaced(unplaced, source, family, '; '.join(LAYOUTS))
    out = _shift_avg_down_indices(out)
    return out, layout, dropped


def _bare_openmmlab(state) -> bool:
    """Whether ``state`` is an OpenMMLab backbone's own state dict, saved without the
    ``backbone.`` prefix: the deep stem is ``stem.*`` there (``conv1.0`` ... in the official
    layout), and there is no ``conv1``."""
    return any(k.startswith('stem.') for k in state) and \
        not any(k.startswith('conv1.') for k in state)


class Detected(dict):
    """A backbone config detected from a checkpoint's weights (what their shapes show), with
    :attr:`hidden`: the family's hidden arguments that the checkpoint's key layout itself fixes,
    ``{argument: (value, how)}`` (e.g. a toolbox's ResNeSt, which has no ``avd_first``).
    :func:`mmfish.weights.decide.decide` takes them after the command line and the
    checkpoint's own config."""

    def __init__(self, *args, hidden: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.hidden = dict(hidden or {})


def _shift_avg_down_indices(state):
    """mmpretrain's and mmpose's ResNeSt build a stride-1 avg-down shortcut without its
    (identity) pool, so ``downsample.0/1`` there are ``downsample.1/2`` in the official layout
    (mmdet's and mmseg's keep the pool, as mmfish does)."""
    avg_down = any(re.match(r'backbone\.layer\d\.0\.downsample\.2\.', k) for k in state)
    if not avg_down:
        return state
    out = OrderedDict()
    for key, value in state.items():
        m = re.match(r'(backbone\.layer\d\.0\.downsample\.)([01])\.(.*)', key)
        prefix = m and m.group(1)
        if m and not any(k.startswith(prefix + '2.') for k in state):
            key = f'{prefix}{int(m.group(2)) + 1}.{m.group(3)}'
        out[key] = value
    return out


#: what :func:`detect_skeleton` leaves out at its default
DETECT_DEFAULTS = dict(base_channels=64)


def detect_skeleton(state: Dict[str, torch.Tensor], arch_settings: Dict[int, tuple],
                    source: str, family: str) -> dict:
    """Depth, stem and shortcut style of a ResNet-like backbone state dict (mmfish keys)."""
    blocks = tuple(count_blocks(state, f'backbone.layer{i}') for i in range(1, 5))
    depths = {v: k for k, v in arch_settings.items()}
    if blocks not in depths:
        known = ', '.join(f'{d}: {b}' for b, d in depths.items())
        raise ConversionError(f'{source}: not a {family} checkpoint that mmfish knows: its '
                              f'stages have {blocks} blocks; the known depths have {known}')
    deep_stem = 'backbone.stem.0.weight' in state
    stem_conv = state['backbone.stem.6.weight' if deep_stem else 'backbone.conv1.weight']
    first_conv = state['backbone.stem.0.weight' if deep_stem else 'backbone.conv1.weight']
    cfg = dict(depth=depths[blocks], stem_channels=stem_conv.shape[0],
               in_channels=first_conv.shape[1], deep_stem=deep_stem,
               avg_down='backbone.layer1.0.downsample.2.weight' in state)
    base = state['backbone.layer1.0.conv3.weight'].shape[0] // 4
    if base != 64:
        cfg['base_channels'] = base
    return cfg


# -- mmdet's deformable convolutions and plugin layers ---------------------------------------
#: mmcv's plugin layers by the name mmdet registers them under (``<abbreviation><postfix>``)
PLUGIN_ABBRS = {'context_block': 'ContextBlock', 'gen_attention_block': 'GeneralizedAttention',
                'nonlocal_block': 'NonLocal2d'}
_PLUGIN_KEY = re.compile(r'^backbone\.layer(\d)\.(\d+)\.((' + '|'.join(PLUGIN_ABBRS)
                         + r')([^.]*))\.')


def _stages_of(found, state, source, what):
    """``stage -> blocks`` of ``found`` ({(stage, block)}), as 4 bools; every block of a marked
    stage must have it (mmdet and mmfish put it in all of a stage's blocks)."""
    stages = []
    for stage in range(1, 5):
        blocks = {b for s, b in found if s == stage}
        total = count_blocks(state, f'backbone.layer{stage}')
        if blocks and len(blocks) != total:
            missing = sorted(set(range(total)) - blocks)
            raise ConversionError(
                f'{source}: {what} in only some blocks of layer{stage} (not in block'
                f'{"s" if len(missing) > 1 else ""} {", ".join(map(str, missing))} of {total}): '
                f'mmfish builds it in every block of the stages asked (stage_with_dcn / '
                f"plugins' stages), so this checkpoint has no mmfish model")
        stages.append(bool(blocks))
    return tuple(stages)


class AmbiguousDcnError(ConversionError):
    """The offset convolutions fit both ``DCN`` and ``DCNv2``: ``fits`` lists the
    ``(type, deform_groups)`` candidates; :func:`mmfish.weights.decide.decide_dcn` picks one
    from the command line or the checkpoint's own config, or refuses with this message."""

    def __init__(self, message: str, fits: tuple):
        super().__init__(message)
        self.fits = fits


def _dcn_fits(out: int, positions: int) -> tuple:
    """``((type, deform_groups), ...)`` that an offset conv of ``out`` channels fits: ``DCN``
    predicts 2 and ``DCNv2`` 3 values per kernel position and deformable group."""
    return tuple((name, out // (per * positions)) for name, per in (('DCN', 2), ('DCNv2', 3))
                 if out % (per * positions) == 0)


def detect_dcn(state, conv_pattern: str, source: str, dcn_type: Optional[str] = None) -> dict:
    """``dcn`` and ``stage_with_dcn`` from the offset convolutions (``<conv>.conv_offset``) of
    mmcv's deformable convolutions; ``{}`` without any. ``conv_pattern`` is a regex of the
    family's 3x3 convolution in a block (``conv2\\.conv``, ``convs\\.\\d+``).

    ``DCN`` predicts 2 and ``DCNv2`` 3 values per kernel position and deformable group, so
    the offset conv's output channels give the type and ``deform_groups``, except where both
    fit (multiples of 6 kernel positions: ``DCN`` with 3k groups or ``DCNv2`` with 2k), which
    nothing else in the weights tells apart: ``dcn_type`` (``'DCN'`` or ``'DCNv2'``) picks one
    of the types that fit; without it, :class:`AmbiguousDcnError` lists both."""
    pattern = re.compile(rf'^backbone\.layer(\d)\.(\d+)\.({conv_pattern})\.conv_offset\.weight$')
    found, kinds = set(), {}
    for key, value in state.items():
        m = pattern.match(key)
        if not m:
            continue
        found.add((int(m.group(1)), int(m.group(2))))
        out, positions = value.shape[0], value.shape[2] * value.shape[3]
        fits = _dcn_fits(out, positions)
        if not fits:
            raise ConversionError(
                f'{source}: the offset conv {key} has {out} output channels for a '
                f'{value.shape[2]}x{value.shape[3]} kernel: neither DCN (2 x {positions} x '
                f'deform_groups) nor DCNv2 (3 x {positions} x deform_groups) has that many')
        kinds.setdefault(fits, (key, value))
    if not found:
        return {}
    if len(kinds) > 1:
        shown = '; '.join(f'{k}: ' + ' or '.join(f'type={t!r}, deform_groups={g}' for t, g in f)
                          for f, (k, _) in kinds.items())
        raise ConversionError(f'{source}: the deformable convolutions differ ({shown}): '
                              f'mmfish builds one dcn config for all of them')
    (fits, (key, value)), = kinds.items()
    stages = _stages_of(found, state, source, 'deformable convolutions')
    out, positions = value.shape[0], value.shape[2] * value.shape[3]
    where = (f'the offset conv {key} has {out} output channels for a '
             f'{value.shape[2]}x{value.shape[3]} kernel')
    options = ' or '.join(f'type={t!r} with deform_groups={g}' for t, g in fits)
    if dcn_type is not None:
        chosen = [f for f in fits if f[0] == dcn_type]
        if not chosen:
            raise ConversionError(f'{source}: type={dcn_type!r} does not fit the weights: '
                                  f'{where}, which only {options} has')
        fits = tuple(chosen)
    elif len(fits) > 1:
        raise AmbiguousDcnError(
            f'{source}: {where}: that fits {options} ({out} = 2 x {positions} x {fits[0][1]} = '
            f'3 x {positions} x {fits[1][1]}), and nothing in the weights tells them apart', fits)
    (kind, groups), = fits
    dcn = dict(type=kind, deform_groups=groups, fallback_on_stride=False)
    return dict(dcn=dcn, stage_with_dcn=stages)


def _context_block(state, prefix, name, source):
    """``(cfg, in_channels, hidden channels)`` of the ContextBlock whose keys start with
    ``prefix``."""
    fusion = tuple(f for f in ('channel_add', 'channel_mul')
                   if f'{prefix}{f}_conv.0.weight' in state)
    if not fusion:
        raise ConversionError(f'{source}: the ContextBlock {prefix[9:-1]} has neither '
                              f'channel_add_conv nor channel_mul_conv weights')
    first = state[f'{prefix}{fusion[0]}_conv.0.weight']
    cfg = dict(type='ContextBlock', ratio=first.shape[0] / first.shape[1],
               pooling_type='att' if f'{prefix}conv_mask.weight' in state else 'avg',
               fusion_types=fusion)
    return cfg, first.shape[1], first.shape[0]


def detect_plugins(state, source: str) -> dict:
    """mmdet's ``plugins`` from the plugin layers' keys (``layer2.0.context_block.*``); ``{}``
    without any. ContextBlock's arguments are all in its weights (``ratio`` from its hidden
    width, ``pooling_type`` from ``conv_mask``, ``fusion_types`` from the fusion convs), and
    its position from its channels: ``after_conv3`` has the block's output channels.
    ``after_conv1`` and ``after_conv2`` have the same channels, and GeneralizedAttention's and
    NonLocal2d's weights do not show all their arguments: those are refused."""
    layers = OrderedDict()  # name -> {(stage, block): prefix}
    for key in state:
        m = _PLUGIN_KEY.match(key)
        if m:
            layers.setdefault(m.group(3), {})[(int(m.group(1)), int(m.group(2)))] = \
                m.group(0)
    plugins = []
    for name, where in layers.items():
        abbr = _PLUGIN_KEY.match(next(iter(where.values()))).group(4)
        kind = PLUGIN_ABBRS[abbr]
        if kind != 'ContextBlock':
            raise ConversionError(
                f'{source}: plugin layers {name} ({kind}) in {len(where)} blocks: their weights '
                f'do not show all of their arguments, so mmfish cannot write a config that '
                f'rebuilds them (it converts ContextBlock plugins); build the model with the '
                f"toolbox config's plugins and load the checkpoint with init_cfg=dict("
                f"type='Pretrained', checkpoint=..., prefix='backbone.')")
        cfgs, positions = set(), set()
        for (stage, block), prefix in where.items():
            cfg, channels, hidden = _context_block(state, prefix, name, source)
            out = state[f'backbone.layer{stage}.{block}.conv3.weight'].shape[0]
            mid = state[f'backbone.layer{stage}.{block}.conv1.weight'].shape[0]
            if channels == out:
                positions.add('after_conv3')
            elif channels == mid:
                raise ConversionError(
                    f'{source}: the plugin {prefix[9:-1]} has the {channels} channels of the '
                    f"block's 3x3 stage, which are those of both position='after_conv1' and "
                    f"'after_conv2': the weights cannot tell them apart, and mmfish converts "
                    f"plugins at position='after_conv3' (the block's {out} output channels)")
            else:
                raise ConversionError(f'{source}: the plugin {prefix[9:-1]} has {channels} '
                                      f'input channels, which no position of the block has')
            cfgs.add((cfg['pooling_type'], cfg['fusion_types'], channels, hidden))
        ratio = _ratio([(c, h) for _, _, c, h in cfgs], name, source)
        if len({(p, f) for p, f, _, _ in cfgs}) > 1:
            raise ConversionError(f'{source}: the {name} layers differ in pooling_type or '
                                  f'fusion_types between blocks: mmfish builds one plugin config')
        (pooling, fusion, _, _) = next(iter(cfgs))
        cfg = dict(type='ContextBlock', ratio=ratio, pooling_type=pooling,
                   fusion_types=fusion)
        postfix = name[len(abbr):]
        if postfix:
            cfg['postfix'] = postfix
        stages = _stages_of(set(where), state, source, f'the plugin {name}')
        plugins.append(dict(cfg=cfg, stages=stages, position=positions.pop()))
    return dict(plugins=plugins) if plugins else {}


def _ratio(pairs, name, source):
    """ContextBlock's ``ratio``: its hidden layer has ``int(in_channels * ratio)`` channels;
    a common ratio (1/16, 1/4, 1/8, ...) is preferred where it reproduces every block."""
    for ratio in (1. / 16, 1. / 4, 1. / 8, 1. / 2, 1. / 32, 1.):
        if all(int(c * ratio) == h for c, h in pairs):
            return ratio
    c, h = pairs[0]
    ratio = h / c
    if not all(int(c2 * ratio) == h2 for c2, h2 in pairs):
        raise ConversionError(f'{source}: the {name} layers have hidden widths no single ratio '
                              f'gives: {sorted(pairs)[:6]} (in_channels, hidden)')
    return ratio
