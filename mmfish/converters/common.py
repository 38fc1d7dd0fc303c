"""What the three converters share: renaming keys by ordered rules, telling a checkpoint's
family from its keys, and checking the result against the model it is meant for. Reading and
atomic writing are :mod:`mmfish.checkpoint.io`'s."""
import re
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch

from ..checkpoint.diff import diff_state, is_optional
from ..checkpoint.io import (  # noqa: F401  (re-exported: the converters' API)
    CheckpointError,
    CheckpointMismatchError,
    ConversionError,
    load_state_dict,
    save_atomic,
    unwrap_state_dict,
)

#: top-level keys of OpenMMLab detectors and segmentors that are not part of a backbone
TASK_PREFIXES = ('neck.', 'rpn_head.', 'roi_head.', 'bbox_head.', 'mask_head.', 'decode_head.',
                 'auxiliary_head.', 'data_preprocessor.', 'semantic_head.', 'panoptic_head.')

#: one distinctive key fragment per family, to name the likely cause of a mismatch
FAMILY_MARKERS = {
    'FishNet': ('fish.fish.', '.transfer.', 'bridge.'),
    'ResNeSt': ('.conv2.fc1.', '.conv2.conv.'),
    'Res2Net': ('.convs.0.', '.bns.0.'),
}


Rule = Tuple[str, Optional[str]]


def rename(state: Dict[str, torch.Tensor], rules: Sequence[Rule]):
    """Rename keys with the first matching ``(pattern, replacement)`` rule.

    Returns the renamed dict and the keys that no rule matched. A replacement of ``None``
    drops the key deliberately (the caller reports it).
    """
    compiled = [(re.compile(p), r) for p, r in rules]
    out, unplaced, dropped = OrderedDict(), [], []
    for key, value in state.items():
        for pattern, replacement in compiled:
            if pattern.match(key):
                if replacement is None:
                    dropped.append(key)
                else:
                    out[pattern.sub(replacement, key, count=1)] = value
                break
        else:
            unplaced.append(key)
    return out, unplaced, dropped


#: what a plain ResNet / ResNeXt bottleneck has, and none of the three families
RESNET_MARKER = re.compile(r'(^|\.)layer\d\.\d+\.conv2\.weight$')


def backbone_keys(keys: Iterable[str]) -> List[str]:
    """The keys that can belong to a backbone: without the necks and heads of detectors and
    segmentors (whose mask heads have ``convs.0`` layers, as Res2Net blocks do)."""
    return [k for k in keys if not any(k.startswith(p) or k.startswith('module.' + p)
                                       for p in TASK_PREFIXES)
            and not k.startswith(('head.', 'fc.', 'module.fc.'))]


def guess_family(keys: Iterable[str]) -> Optional[str]:
    """``'FishNet'``, ``'Res2Net'``, ``'ResNeSt'`` or ``'ResNet'`` (a plain ResNet/ResNeXt,
    which mmfish does not convert) from a checkpoint's backbone keys, or None."""
    keys = backbone_keys(keys)
    for family, markers in FAMILY_MARKERS.items():
        if any(m in k for k in keys for m in markers):
            return family
    if any(RESNET_MARKER.search(k) for k in keys):
        return 'ResNet'
    return None


def converter_hint(family: str) -> str:
    """What to run for a checkpoint of ``family`` (one of FAMILY_MARKERS, or 'ResNet')."""
    if family == 'ResNet':
        return ('it is a plain ResNet/ResNeXt checkpoint (its blocks have a single conv2, no '
                'Res2Net splits or ResNeSt split attention): mmfish converts FishNet, Res2Net '
                'and ResNeSt; load ResNet weights with the toolbox\'s own ResNet')
    return f'use tools/model_converters/{family.lower()}2mmfish.py'


def check_family(keys: Iterable[str], family: str, source: str) -> None:
    """Fail early, naming the right converter, when the keys belong to another family."""
    keys = list(keys)
    guessed = guess_family(keys)
    if guessed and guessed != family:
        if guessed == 'ResNet':
            examples = [k for k in keys if RESNET_MARKER.search(k)][:2]
        else:
            examples = [k for k in backbone_keys(keys)
                        if any(m in k for m in FAMILY_MARKERS[guessed])][:3]
        raise ConversionError(
            f'{source}: keys such as {", ".join(examples)} belong to a {guessed} checkpoint, '
            f'not a {family} one: {converter_hint(guessed)}')


def _family_hint(keys: Iterable[str], family: str) -> str:
    guessed = guess_family(keys)
    if guessed and guessed != family:
        return f'\nThe keys look like a {guessed} checkpoint: {converter_hint(guessed)}.'
    return ''


def count_blocks(state: Dict[str, torch.Tensor], prefix: str) -> int:
    """Number of blocks ``prefix.<i>.`` in a state dict."""
    pattern = re.compile(re.escape(prefix) + r'\.(\d+)\.')
    found = {int(m.group(1)) for k in state for m in [pattern.match(k)] if m}
    return max(found) + 1 if found else 0


def check_keys(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor], family: str,
               source: str, what: str) -> None:
    """Fail with a readable summary unless ``state`` has exactly the keys and shapes of
    ``expected`` (BatchNorm's ``num_batches_tracked`` counters may be absent: see
    :func:`fill_counters`)."""
    diff = diff_state(state, expected, optional=is_optional)
    if not diff:
        return
    lines = [f'{source}: the weights do not fit the {what} they describe:']
    shapes = [f'{k}: {a} vs {b}' for k, a, b in diff.shapes]
    for title, items in (('missing', diff.missing), ('unexpected', diff.unexpected),
                         ('shape mismatch (checkpoint vs model)', shapes)):
        if items:
            lines.append(f'  {len(items)} {title}: ' + ', '.join(items[:8]) +
                         (' ...' if len(items) > 8 else ''))
    raise ConversionError('\n'.join(lines) + _family_hint(diff.unexpected, family))


def fill_counters(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor],
                  prefix: str = '') -> List[str]:
    """Add the BatchNorm ``num_batches_tracked`` counters that ``state`` lacks (checkpoints
    saved by PyTorch < 0.4.1 have none) as zeros; return the keys added. The counters play no
    part in the computation unless BatchNorm's ``momentum`` is None."""
    added = []
    for key, value in expected.items():
        if is_optional(key) and prefix + key not in state:
            state[prefix + key] = torch.zeros((), dtype=value.dtype)
            added.append(prefix + key)
    return added


def fail_unplaced(unplaced: List[str], source: str, family: str, layouts: str) -> None:
    if not unplaced:
        return
    raise ConversionError(
        f'{source}: {len(unplaced)} keys could not be placed in a {family} model: '
        + ', '.join(unplaced[:10]) + (' ...' if len(unplaced) > 10 else '')
        + f'\nKnown {family} layouts: {layouts}.' + _family_hint(unplaced, family))


def expected_state(build: Callable[[], torch.nn.Module]) -> Dict[str, torch.Tensor]:
    """The state dict of a freshly built module, on the meta device (no memory, no init)."""
    with torch.device('meta'):
        return build().state_dict()
