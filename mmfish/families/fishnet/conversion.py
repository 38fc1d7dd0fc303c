"""FishNet checkpoints: the official ``.tar`` training checkpoints (``state_dict`` with
DataParallel's ``module.`` prefix) in the released code's layout and in the two "welltrained"
layouts, and mmfish's own (OpenMMLab) checkpoints.

The welltrained files (``fishnet150_ckpt_welltrained.tar``, 79.35 top-1, and
``fishnet201_ckpt_welltrain.tar``, 79.71 top-1) were saved by another version of the code
than the released kevin-ssy/FishNet (b968f02): the keys that differ are known from the script
that loads them into the released code, lyakaap/Landmark2019-1st-and-3rd-Place-Solution,
src/FishNet/fix_checkpoint.py (commits 215d4ad, 1e4e341; strict load for FishNet-150):

* the bridge's score layers (both files): released ``fish.fish.3.0.{0,2,3}`` (BN, conv, BN) +
  ``fish.fish.3.1`` (1x1 conv with bias) are ``fish.fish.3.0.0`` + ``fish.fish.3.1.{0,1,3}``;
* the classifier: released ``fish.fish.9.3.{0,2,3}`` + ``fish.fish.9.4.1`` are
  ``fish.fish.9.3.0`` + ``fish.fish.9.4.{0,1,4}`` (FishNet-150) and ``fish.fish.9.2.0`` +
  ``fish.fish.9.3.{0,1,4}`` (FishNet-201);
* FishNet-201's first tail block has a bare 1x1 conv as shortcut (``fish.fish.0.0.0.shortcut.
  weight``, no BN-ReLU before it). mmfish's shortcut is BN-ReLU-conv: the BN is filled as an
  identity and the ReLU is one too, because that block's input is the stem's ReLU output after
  a max-pool (>= 0). This is exact in eval mode only (see :data:`IDENTITY_VAR`).

The files carry only tensors: the parameter-free layers (pools, ReLUs) are taken to be the
released code's, as that script and the authors' README ("construct your FishNet150 ... and
load the weights") do.
"""
import re
from typing import Tuple

import torch
from torch import nn

from ...checkpoint.io import ConversionError
from ...checkpoint.keys import TASK_PREFIXES
from ...core.keymap import count_blocks, fail_unplaced, rename
from .model import FishNet
from .neck import FishScore

LAYOUTS = ('official (conv1..3, fish.fish.<stage>.<part>), as released or "welltrained" '
           '(fishnet150_ckpt_welltrained.tar, fishnet201_ckpt_welltrain.tar)',
           'OpenMMLab (backbone.stem/tail/bridge/body/head, neck.*, head.fc.*)')

#: BatchNorm's eps in mmfish's FishNet (mmcv's BN default); a filled identity BN's running_var
#: is the float32 just below 1 with ``float32(running_var + eps) == 1``: in float32 the BN maps
#: x to exactly x (1 / sqrt(1) * x), in float64 to x * (1 + 7e-9)
BN_EPS = 1e-5
IDENTITY_VAR = (torch.tensor(1.) - torch.tensor(BN_EPS)).item()
IDENTITY_BN = (f'identity BatchNorm (weight 1, bias 0, running_mean 0, running_var '
               f'{IDENTITY_VAR!r}: with eps {BN_EPS} it maps x to x)')

# An official block (bn1, conv1, ..., shortcut.0 = BN, shortcut.2 = conv) inside ``parent``.
_BLOCK = [(r'(\d+)\.bn([123])\.', r'\1.conv\2.bn.'),
          (r'(\d+)\.conv([123])\.', r'\1.conv\2.conv.'),
          (r'(\d+)\.shortcut\.0\.', r'\1.shortcut.bn.'),
          (r'(\d+)\.shortcut\.2\.', r'\1.shortcut.conv.')]
#: the one bare shortcut conv that can be placed exactly (see the module docstring)
_BARE_SHORTCUT = 'fish.fish.0.0.0.shortcut.weight'
_FIRST_SHORTCUT = 'backbone.tail.0.blocks.0.shortcut'

# the score layers, by layout: (official prefix, mmfish prefix)
_BRIDGE = {'released': [('3.0.0', 'bridge.score.reduce.bn'), ('3.0.2', 'bridge.score.reduce.conv'),
                        ('3.0.3', 'bridge.score.bn'), ('3.1', 'bridge.score.fc')],
           'welltrained': [('3.0.0', 'bridge.score.reduce.bn'),
                           ('3.1.0', 'bridge.score.reduce.conv'), ('3.1.1', 'bridge.score.bn'),
                           ('3.1.3', 'bridge.score.fc')]}
_CLASSIFIER = {'released': [('9.3.0', 'neck.reduce.bn'), ('9.3.2', 'neck.reduce.conv'),
                            ('9.3.3', 'neck.bn'), ('9.4.1', 'head.fc')],
               'welltrained150': [('9.3.0', 'neck.reduce.bn'), ('9.4.0', 'neck.reduce.conv'),
                                  ('9.4.1', 'neck.bn'), ('9.4.4', 'head.fc')],
               'welltrained201': [('9.2.0', 'neck.reduce.bn'), ('9.3.0', 'neck.reduce.conv'),
                                  ('9.3.1', 'neck.bn'), ('9.3.4', 'head.fc')]}
#: layout name -> (bridge, classifier); the conv weights that tell them apart
OFFICIAL_LAYOUTS = {'official': ('released', 'released'),
                    'official-welltrained150': ('welltrained', 'welltrained150'),
                    'official-welltrained201': ('welltrained', 'welltrained201')}
_BRIDGE_MARKS = {'released': 'fish.fish.3.1.weight', 'welltrained': 'fish.fish.3.1.3.weight'}
_CLASSIFIER_MARKS = {'released': 'fish.fish.9.4.1.weight',
                     'welltrained150': 'fish.fish.9.4.4.weight',
                     'welltrained201': 'fish.fish.9.3.4.weight'}


def _blocks(official: str, ours: str):
    return [(rf'^{official}\.{p}', rf'{ours}.{r}') for p, r in _BLOCK]


def _scores(pairs):
    return [(rf'^fish\.fish\.{re.escape(o)}\.', ('' if m.startswith(('neck', 'head')) else
                                                'backbone.') + m + '.') for o, m in pairs]


def _official_rules(bridge='released', classifier='released'):
    rules = [(rf'^conv{i + 1}\.0\.', f'backbone.stem.{i}.conv.') for i in range(3)]
    rules += [(rf'^conv{i + 1}\.1\.', f'backbone.stem.{i}.bn.') for i in range(3)]
    # official stage i = [blocks, transfer, sampling, ...]: tail 0-2, bridge 3, body 4-6, head 7-9
    rules += [(rf'^{re.escape(_BARE_SHORTCUT)}$', f'{_FIRST_SHORTCUT}.conv.weight')]
    for i in range(3):
        rules += _blocks(rf'fish\.fish\.{i}\.0', f'backbone.tail.{i}.blocks')
    rules += _scores(_BRIDGE[bridge])
    rules += [(r'^fish\.fish\.3\.3\.0\.0\.', 'backbone.bridge.se.bn.'),
              (r'^fish\.fish\.3\.3\.0\.3\.', 'backbone.bridge.se.squeeze.'),
              (r'^fish\.fish\.3\.3\.0\.5\.', 'backbone.bridge.se.excite.')]
    rules += _blocks(r'fish\.fish\.3\.2', 'backbone.bridge.blocks')
    for part, first in (('body', 4), ('head', 7)):
        for j in range(3):
            rules += _blocks(rf'fish\.fish\.{first + j}\.0', f'backbone.{part}.{j}.blocks')
            rules += _blocks(rf'fish\.fish\.{first + j}\.1', f'backbone.{part}.{j}.transfer')
    # the classifier: the last stage's score layers (neck) and its final 1x1 conv (head)
    return rules + _scores(_CLASSIFIER[classifier])


OFFICIAL_RULES = {name: _official_rules(*parts) for name, parts in OFFICIAL_LAYOUTS.items()}
OPENMMLAB_RULES = [
    (r'^backbone\.', 'backbone.'),
    (r'^neck\.', 'neck.'),
    (r'^head\.fc\.', 'head.fc.'),
] + [('^' + re.escape(p), None) for p in TASK_PREFIXES]


def _official_layout(state, source) -> str:
    """Which official layout the score layers' keys show (without a classifier, the one of
    the bridge's layout; without either, the released one)."""
    def which(marks):
        found = [name for name, key in marks.items()  # a conv weight (9.4.1 is a BN in one)
                 if key in state and state[key].dim() == 4]
        if len(found) > 1:
            raise ConversionError(
                f'{source}: the score layers are in two layouts at once ('
                + ', '.join(marks[n] for n in found) + '): a file mixed from two checkpoints?')
        return found[0] if found else None

    bridge = which(_BRIDGE_MARKS) or 'released'
    classifier = which(_CLASSIFIER_MARKS) or next(
        c for b, c in OFFICIAL_LAYOUTS.values() if b == bridge)
    for name, known in OFFICIAL_LAYOUTS.items():
        if (bridge, classifier) == known:
            return name
    raise ConversionError(
        f'{source}: the bridge\'s score layers are in the {bridge} layout '
        f'({_BRIDGE_MARKS[bridge]}) but the classifier in the {classifier} one '
        f'({_CLASSIFIER_MARKS[classifier]}); known official layouts (bridge, classifier): '
        + '; '.join(f'{n}: {b}, {c}' for n, (b, c) in OFFICIAL_LAYOUTS.items()))


def _bare_first_shortcut(state, source) -> bool:
    """Whether the file has FishNet-201 (welltrained)'s bare first shortcut conv. Any other
    bare shortcut conv is refused: its input can be negative, so no BN-ReLU can be an
    identity before it."""
    bare = sorted(k for k in state if re.search(r'(^|\.)shortcut\.weight$', k))
    others = [k for k in bare if k != _BARE_SHORTCUT]
    if others:
        raise ConversionError(
            f'{source}: {", ".join(others)}: a shortcut that is a bare conv (no BN-ReLU before '
            f'it) in a block whose input can be negative: mmfish\'s pre-activation shortcut '
            f'(BN, ReLU, conv) cannot compute it; only the first tail block\'s '
            f'({_BARE_SHORTCUT}, as in fishnet201_ckpt_welltrain.tar) can be placed')
    if not bare:
        return False
    clash = sorted(k for k in state if k.startswith(_BARE_SHORTCUT[:-len('weight')])
                   and k != _BARE_SHORTCUT)
    if clash:
        raise ConversionError(
            f'{source}: {_BARE_SHORTCUT} (a bare shortcut conv) and {", ".join(clash)} (a '
            f'BN-ReLU-conv shortcut) in the same block: one block has one shortcut')
    if state[_BARE_SHORTCUT].dim() != 4:
        raise ConversionError(f'{source}: {_BARE_SHORTCUT} has shape '
                              f'{tuple(state[_BARE_SHORTCUT].shape)}, not that of a conv weight')
    return True


def filled_layers(state, source) -> list:
    """The layers that :func:`to_mmfish_keys` fills in (keys as in ``state``, the file's), one
    dict each (module, value, why), for the converter's output and ``meta['mmfish']``."""
    if any(k.startswith('backbone.') for k in state) or not _bare_first_shortcut(state, source):
        return []
    return [dict(
        module=f'{_FIRST_SHORTCUT}.bn',
        value=IDENTITY_BN,
        why=(f'{_BARE_SHORTCUT} is a bare 1x1 conv (no BN-ReLU before it, as in '
             f'fishnet201_ckpt_welltrain.tar); its input is the stem\'s ReLU output after a '
             f'max-pool, >= 0, so BN-ReLU-conv with this BN (and that ReLU) computes conv(x) '
             f'as the file does. Exact in eval mode (and with norm_eval=True); in training '
             f'mode BatchNorm uses batch statistics, so fine-tuning trains a layer the '
             f'original lacked'))]


def to_mmfish_keys(state, source):
    """Rename to mmfish keys, filling the layers :func:`filled_layers` names; return them, the
    layout and the keys left out."""
    if any(k.startswith('backbone.') for k in state):
        layout = 'openmmlab'
        out, unplaced, dropped = rename(state, OPENMMLAB_RULES)
    else:
        layout = _official_layout(state, source)
        out, unplaced, dropped = rename(state, OFFICIAL_RULES[layout])
    fail_unplaced(unplaced, source, FishNet.__name__, '; '.join(LAYOUTS))
    if layout != 'openmmlab' and _bare_first_shortcut(state, source):
        bn, c = f'{_FIRST_SHORTCUT}.bn', state[_BARE_SHORTCUT].shape[1]
        out[f'{bn}.weight'] = torch.ones(c)  # float32, the dtype IDENTITY_VAR is exact in
        out[f'{bn}.bias'] = torch.zeros(c)
        out[f'{bn}.running_mean'] = torch.zeros(c)
        out[f'{bn}.running_var'] = torch.full((c, ), IDENTITY_VAR)
        out[f'{bn}.num_batches_tracked'] = torch.zeros((), dtype=torch.long)
    if 'head.fc.weight' in out and out['head.fc.weight'].dim() == 4:  # 1x1 conv -> linear
        out['head.fc.weight'] = out['head.fc.weight'].flatten(1)
    return out, layout, dropped


def detect(state, source, layout=None, dcn_type=None):
    """The backbone arguments the weights' shapes give (a FishNet has no deformable
    convolutions: ``dcn_type`` is always None)."""
    tail = tuple(count_blocks(state, f'backbone.tail.{i}.blocks') for i in range(3))
    depths = {s['blocks'][:3]: d for d, s in FishNet.arch_settings.items()}
    if tail not in depths:
        raise ConversionError(f'{source}: not a FishNet checkpoint that mmfish knows: its tail '
                              f'has {tail} blocks; known: ' +
                              ', '.join(f'FishNet-{d}: {b}' for b, d in depths.items()))
    try:
        stem = state['backbone.stem.2.conv.weight']
        conv2 = state['backbone.tail.0.blocks.0.conv2.conv.weight']
    except KeyError as exc:
        raise ConversionError(f'{source}: a FishNet checkpoint without {exc.args[0]}') from None
    cfg = dict(depth=depths[tail], base_channels=stem.shape[0],
               in_channels=state['backbone.stem.0.conv.weight'].shape[1])
    groups = conv2.shape[0] // conv2.shape[1]
    if groups > 1:
        plain_mid = state['backbone.tail.0.blocks.0.conv3.conv.weight'].shape[0] // 4
        cfg.update(groups=groups, base_width=(conv2.shape[0] // groups) * 64 // plain_mid)
    return cfg


def classifier_neck(channels: int) -> Tuple[nn.Module, int]:
    """The official classifier's neck: the last level's score layers, pooled (``FishScore``),
    which give the fc half the level's channels."""
    return FishScore(channels, pool=True), channels // 2
