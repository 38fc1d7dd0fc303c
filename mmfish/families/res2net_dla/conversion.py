"""Res2Net-DLA checkpoints: official (``dla.py``: ``res2net_dla60``, ``res2next_dla60``), timm
(``dla60_res2net``, ``dla60_res2next``), mmdet, mmseg and mmpretrain.

The official and timm layouts share the official module names (``base_layer``,
``level0`` .. ``level5``, ``fc``, a 1x1 conv). The official model also has ``project`` layers
in the trees of more than one level (``level3.project``, ``level4.project``,
``level4.tree1.project`` in DLA-60) that its forward never uses; timm's model leaves them out.
mmfish's backbone keeps them (the released weights and the published parameter count have
them), so a checkpoint without them gets them filled (zero conv, identity BN), which changes
nothing the model computes, and the layout says so.
"""
import math
import re
from collections import OrderedDict

import torch

from ...checkpoint.io import ConversionError
from ...checkpoint.keys import TASK_PREFIXES
from ...core.keymap import fail_unplaced, rename
from .model import Res2NetDLA

LAYOUTS = ('official / timm (base_layer, level0..5, fc as a 1x1 conv)',
           'OpenMMLab mmdet / mmseg / mmpretrain (backbone.*, head.fc.*)')
__all__ = ['to_mmfish_keys', 'detect']

OFFICIAL_RULES = [
    (r'^(base_layer|level[0-5])\.', r'backbone.\1.'),
    (r'^fc\.', 'head.fc.'),
]
OPENMMLAB_RULES = [
    (r'^backbone\.', 'backbone.'),
    (r'^head\.fc\.', 'head.fc.'),
] + [('^' + re.escape(p), None) for p in TASK_PREFIXES]

#: the published base widths, preferred when reduced widths leave several that fit
PUBLISHED_BASE_WIDTHS = (28, 4)


def to_mmfish_keys(state, source):
    if any(k.startswith('backbone.') for k in state):
        layout, rules = 'openmmlab', OPENMMLAB_RULES
    else:
        layout, rules = 'official', OFFICIAL_RULES
    out, unplaced, dropped = rename(state, rules)
    fail_unplaced(unplaced, source, Res2NetDLA.__name__, '; '.join(LAYOUTS))
    if 'head.fc.weight' in out and out['head.fc.weight'].dim() == 4:  # 1x1 conv -> linear
        out['head.fc.weight'] = out['head.fc.weight'].flatten(1)
    filled = _fill_unused_projections(out)
    if filled:
        layout = (f'timm (without the unused project layers of {", ".join(filled)}: filled '
                  f'with a zero conv and an identity BN, which the forward never uses)'
                  if layout == 'official' else
                  f'{layout} (unused project layers of {", ".join(filled)} filled)')
    return out, layout, dropped


def _block_prefix(state, tree: str):
    """The first block of the tree at ``tree`` (following ``tree1``), or None."""
    while f'{tree}.tree1.conv1.weight' not in state:
        if not any(k.startswith(f'{tree}.tree1.') for k in state):
            return None
        tree += '.tree1'
    return f'{tree}.tree1'


def _fill_unused_projections(state) -> list:
    """Add the official ``project`` layers of the trees of more than one level where the
    checkpoint lacks them (timm's layout); return the trees filled."""
    filled = []
    trees = [f'backbone.level{i}' for i in range(2, 6)]
    while trees:
        tree = trees.pop(0)
        block = _block_prefix(state, tree)
        if block is None or block == f'{tree}.tree1':  # absent, or a one-level tree
            continue
        trees += [f'{tree}.tree1', f'{tree}.tree2']
        conv1, conv3 = state.get(f'{block}.conv1.weight'), state.get(f'{block}.conv3.weight')
        if conv1 is None or conv3 is None or f'{tree}.project.0.weight' in state:
            continue
        cin, cout = conv1.shape[1], conv3.shape[0]
        if tree.endswith('tree2') or cin == cout:  # no project in the official model either
            continue
        bn = f'{tree}.project.1.'
        state[f'{tree}.project.0.weight'] = conv1.new_zeros(cout, cin, 1, 1)
        state[bn + 'weight'] = conv1.new_ones(cout)
        state[bn + 'bias'] = conv1.new_zeros(cout)
        state[bn + 'running_mean'] = conv1.new_zeros(cout)
        state[bn + 'running_var'] = conv1.new_ones(cout)
        state[bn + 'num_batches_tracked'] = torch.zeros((), dtype=torch.long)
        filled.append(tree[len('backbone.'):])
    return filled


def _tree_levels(state, tree: str) -> int:
    block = _block_prefix(state, tree)
    return 0 if block is None else block[len(tree):].count('.tree1')


def _conv_count(state, level: str) -> int:
    return sum(1 for k, v in state.items()
               if re.fullmatch(rf'{re.escape(level)}\.\d+\.weight', k) and v.dim() == 4)


def detect(state, source, layout=None, dcn_type=None):
    """The backbone arguments the weights' shapes give (a Res2Net-DLA has no deformable
    convolutions: ``dcn_type`` is always None)."""
    levels = (_conv_count(state, 'backbone.level0'), _conv_count(state, 'backbone.level1'),
              *(_tree_levels(state, f'backbone.level{i}') for i in range(2, 6)))
    depths = {v: k for k, v in Res2NetDLA.arch_settings.items()}
    if levels not in depths:
        known = ', '.join(f'DLA-{d}: {lv}' for lv, d in depths.items())
        raise ConversionError(
            f'{source}: not a Res2Net-DLA checkpoint that mmfish knows: its level0/level1 '
            f'convolutions and level2..5 trees have {levels} levels; known: {known}')
    blocks = [_block_prefix(state, f'backbone.level{i}') for i in range(2, 6)]
    if any(f'{b}.convs.0.weight' not in state for b in blocks):
        plain = f'{blocks[0]}.conv2.weight' in state
        raise ConversionError(
            f'{source}: its DLA blocks have no Res2Net split convolutions '
            f'({blocks[0][len("backbone."):]}.convs.0.weight)'
            + (', but a single conv2: a plain DLA / DLA-X checkpoint (e.g. timm dla60, '
               'dla60x), which mmfish does not convert' if plain else '')
            + '; mmfish converts Res2Net-DLA-60 (res2net_dla60) and Res2NeXt-DLA-60 '
              '(res2next_dla60)')
    channels = (state['backbone.base_layer.0.weight'].shape[0],
                state['backbone.level1.0.weight'].shape[0],
                *(state[f'{b}.conv3.weight'].shape[0] for b in blocks))
    split = state[f'{blocks[0]}.convs.0.weight']
    width = split.shape[0]
    groups = width // split.shape[1]
    scales = state[f'{blocks[0]}.conv1.weight'].shape[0] // width
    # base widths that give every level's split width: floor(c / 2 * base_width / 64) * groups
    low, high = 1, math.inf
    for block, c in zip(blocks, channels[2:]):
        per_group, planes = state[f'{block}.convs.0.weight'].shape[0] // groups, c // 2
        low = max(low, -(-64 * per_group // planes))
        high = min(high, -(-64 * (per_group + 1) // planes) - 1)
    if low > high or groups < 1 or scales < 1:
        found = ', '.join(f'{b[len("backbone."):]}: {tuple(state[f"{b}.convs.0.weight"].shape)}'
                          for b in blocks)
        raise ConversionError(
            f'{source}: the split convolutions ({found}) fit neither Res2Net-DLA '
            f'(base_width=28, groups=1) nor Res2NeXt-DLA (base_width=4, groups=8) nor any '
            f'other base width: the split width of a level of c channels is '
            f'floor(c / 2 * base_width / 64) * groups')
    base_width = next((w for w in PUBLISHED_BASE_WIDTHS if low <= w <= high), low)
    return OrderedDict(depth=depths[levels],
                       in_channels=state['backbone.base_layer.0.weight'].shape[1],
                       channels=channels, scales=scales, base_width=base_width, groups=groups)
