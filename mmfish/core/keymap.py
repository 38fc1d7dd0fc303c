"""What the family converters share: renaming keys by ordered rules, refusing a checkpoint of
another family, and checking the result against the model it is meant for. Reading and atomic
writing are :mod:`mmfish.checkpoint.io`'s."""
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch

from ..checkpoint.diff import diff_state, is_optional
from ..checkpoint.io import ConversionError
from .family import converter_hint, family_examples, guess_family

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


def check_family(keys: Iterable[str], family: str, source: str) -> None:
    """Fail early, naming the right converter, when the keys belong to another family."""
    keys = list(keys)
    guessed = guess_family(keys)
    if guessed and guessed != family:
        examples = family_examples(keys, guessed)
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

