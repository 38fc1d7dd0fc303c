"""FishNet checkpoints: the official ``.tar`` training checkpoints (``state_dict`` with
DataParallel's ``module.`` prefix) and mmfish's own (OpenMMLab) checkpoints."""
import re

from ..checkpoint.families import TASK_PREFIXES
from ..checkpoint.io import ConversionError
from ..models.backbones.fishnet import FishNet
from .common import count_blocks, fail_unplaced, rename

FAMILY = 'FishNet'
MODEL = FishNet
LAYOUTS = ('official (conv1..3, fish.fish.<stage>.<part>)',
           'OpenMMLab (backbone.stem/tail/bridge/body/head, neck.*, head.fc.*)')

# An official block (bn1, conv1, ..., shortcut.0 = BN, shortcut.2 = conv) inside ``parent``.
_BLOCK = [(r'(\d+)\.bn([123])\.', r'\1.conv\2.bn.'),
          (r'(\d+)\.conv([123])\.', r'\1.conv\2.conv.'),
          (r'(\d+)\.shortcut\.0\.', r'\1.shortcut.bn.'),
          (r'(\d+)\.shortcut\.2\.', r'\1.shortcut.conv.')]


def _blocks(official: str, ours: str):
    return [(rf'^{official}\.{p}', rf'{ours}.{r}') for p, r in _BLOCK]


def _official_rules():
    rules = [(rf'^conv{i + 1}\.0\.', f'backbone.stem.{i}.conv.') for i in range(3)]
    rules += [(rf'^conv{i + 1}\.1\.', f'backbone.stem.{i}.bn.') for i in range(3)]
    # official stage i = [blocks, transfer, sampling, ...]: tail 0-2, bridge 3, body 4-6, head 7-9
    for i in range(3):
        rules += _blocks(rf'fish\.fish\.{i}\.0', f'backbone.tail.{i}.blocks')
    bridge = r'fish\.fish\.3\.'
    rules += [(rf'^{bridge}0\.0\.', 'backbone.bridge.score.reduce.bn.'),
              (rf'^{bridge}0\.2\.', 'backbone.bridge.score.reduce.conv.'),
              (rf'^{bridge}0\.3\.', 'backbone.bridge.score.bn.'),
              (rf'^{bridge}1\.', 'backbone.bridge.score.fc.'),
              (rf'^{bridge}3\.0\.0\.', 'backbone.bridge.se.bn.'),
              (rf'^{bridge}3\.0\.3\.', 'backbone.bridge.se.squeeze.'),
              (rf'^{bridge}3\.0\.5\.', 'backbone.bridge.se.excite.')]
    rules += _blocks(rf'{bridge}2', 'backbone.bridge.blocks')
    for part, first in (('body', 4), ('head', 7)):
        for j in range(3):
            rules += _blocks(rf'fish\.fish\.{first + j}\.0', f'backbone.{part}.{j}.blocks')
            rules += _blocks(rf'fish\.fish\.{first + j}\.1', f'backbone.{part}.{j}.transfer')
    # the classifier: the last stage's score layers (neck) and its final 1x1 conv (head)
    rules += [(r'^fish\.fish\.9\.3\.0\.', 'neck.reduce.bn.'),
              (r'^fish\.fish\.9\.3\.2\.', 'neck.reduce.conv.'),
              (r'^fish\.fish\.9\.3\.3\.', 'neck.bn.'),
              (r'^fish\.fish\.9\.4\.1\.', 'head.fc.')]
    return rules


OFFICIAL_RULES = _official_rules()
OPENMMLAB_RULES = [
    (r'^backbone\.', 'backbone.'),
    (r'^neck\.', 'neck.'),
    (r'^head\.fc\.', 'head.fc.'),
] + [('^' + re.escape(p), None) for p in TASK_PREFIXES]


def to_mmfish_keys(state, source):
    if any(k.startswith('backbone.') for k in state):
        layout, rules = 'openmmlab', OPENMMLAB_RULES
    else:
        layout, rules = 'official', OFFICIAL_RULES
    out, unplaced, dropped = rename(state, rules)
    fail_unplaced(unplaced, source, FAMILY, '; '.join(LAYOUTS))
    if 'head.fc.weight' in out and out['head.fc.weight'].dim() == 4:  # 1x1 conv -> linear
        out['head.fc.weight'] = out['head.fc.weight'].flatten(1)
    return out, layout, dropped


def detect(state, source):
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
