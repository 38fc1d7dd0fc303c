"""Key layouts and variant detection shared by Res2Net and ResNeSt: both are ResNets whose
official, timm and OpenMMLab checkpoints differ only in the stem and a few shortcut indices."""
import re
from collections import OrderedDict
from typing import Dict

import torch

from ..checkpoint.families import TASK_PREFIXES
from ..checkpoint.io import ConversionError
from .common import count_blocks, fail_unplaced, rename

LAYOUTS = ('official / timm (conv1, bn1, layer1..4, fc)',
           'OpenMMLab mmdet / mmseg / mmpretrain (backbone.*, head.fc.*)')

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
        layout = 'openmmlab'
        out, unplaced, dropped = rename(state, OPENMMLAB_RULES)
    else:
        layout = 'official'
        deep_stem = 'conv1.0.weight' in state
        rules = OFFICIAL_RULES + [(r'^bn1\.', 'backbone.stem.7.' if deep_stem else 'backbone.bn1.')]
        out, unplaced, dropped = rename(state, rules)
    fail_unplaced(unplaced, source, family, '; '.join(LAYOUTS))
    out = _shift_avg_down_indices(out)
    return out, layout, dropped


def _shift_avg_down_indices(state):
    """mmdet's and mmseg's ResNeSt build a stride-1 avg-down shortcut without its (identity)
    pool, so ``downsample.0/1`` there are ``downsample.1/2`` in the official layout."""
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

