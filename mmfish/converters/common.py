"""What the three converters share: reading a checkpoint in any of the layouts users have,
renaming keys by ordered rules, checking the result against the model it is meant for, and
writing the output atomically. The backbones' strict ``Pretrained`` loading
(:mod:`mmfish.models.checkpoint_loading`) reads checkpoints and raises errors from here too."""
import os
import re
import tempfile
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch

#: top-level keys of OpenMMLab detectors and segmentors that are not part of a backbone
TASK_PREFIXES = ('neck.', 'rpn_head.', 'roi_head.', 'bbox_head.', 'mask_head.', 'decode_head.',
                 'auxiliary_head.', 'data_preprocessor.', 'semantic_head.', 'panoptic_head.')

#: one distinctive key fragment per family, to name the likely cause of a mismatch
FAMILY_MARKERS = {
    'FishNet': ('fish.fish.', '.transfer.', 'bridge.'),
    'ResNeSt': ('.conv2.fc1.', '.conv2.conv.'),
    'Res2Net': ('.convs.0.', '.bns.0.'),
}


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or whose weights do not fit; the message says why
    and what to do."""


class ConversionError(CheckpointError):
    """A checkpoint that cannot be converted; the message says why and what to do."""


class CheckpointMismatchError(CheckpointError):
    """Pretrained weights that do not fit the backbone they are loaded into (missing or
    unexpected keys, other shapes); the message summarises them and names the likely cause."""


def load_state_dict(path: str, error: type = ConversionError
                    ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Read ``path`` and return its flat state dict and the rest of the checkpoint.

    Accepts plain state dicts, ``{'state_dict': ...}`` (MMEngine, the official FishNet
    training checkpoints), ``{'model': ...}`` and ``{'state_dict_ema': ...}`` wrappers, and
    strips the ``module.`` prefix that DataParallel adds. Failures raise ``error``.
    """
    if not os.path.isfile(path):
        raise error(f'{path}: no such file')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # truncated zip, not a pickle, foreign objects, ...
        raise error(
            f'{path} could not be read as a PyTorch checkpoint (is it truncated or corrupt, '
            f'or not a checkpoint?): {type(exc).__name__}: {str(exc).splitlines()[0]}') from None
    return unwrap_state_dict(ckpt, path, error)


def unwrap_state_dict(ckpt, path: str, error: type = ConversionError
                      ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The flat state dict inside a loaded checkpoint, and the rest (see
    :func:`load_state_dict`)."""
    if not isinstance(ckpt, dict):
        raise error(f'{path} holds a {type(ckpt).__name__}, not a state dict')
    rest = {}
    for key in ('state_dict', 'model', 'state_dict_ema'):
        if isinstance(ckpt.get(key), dict):
            rest = {k: v for k, v in ckpt.items() if k != key}
            ckpt = ckpt[key]
            break
    state = OrderedDict((k, v) for k, v in ckpt.items() if isinstance(v, torch.Tensor))
    if not state:
        raise error(f'{path} holds no tensors: it is not a model checkpoint '
                    f'(top-level keys: {sorted(ckpt)[:10]})')
    if all(k.startswith('module.') for k in state):
        state = OrderedDict((k[len('module.'):], v) for k, v in state.items())
    return state, rest


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


def guess_family(keys: Iterable[str]) -> Optional[str]:
    keys = list(keys)
    for family, markers in FAMILY_MARKERS.items():
        if any(m in k for k in keys for m in markers):
            return family
    return None


def check_family(keys: Iterable[str], family: str, source: str) -> None:
    """Fail early, naming the right converter, when the keys belong to another family."""
    keys = list(keys)
    guessed = guess_family(keys)
    if guessed and guessed != family:
        examples = [k for k in keys if any(m in k for m in FAMILY_MARKERS[guessed])][:3]
        raise ConversionError(
            f'{source}: keys such as {", ".join(examples)} belong to a {guessed} checkpoint, '
            f'not a {family} one: use tools/model_converters/{guessed.lower()}2mmfish.py')


def count_blocks(state: Dict[str, torch.Tensor], prefix: str) -> int:
    """Number of blocks ``prefix.<i>.`` in a state dict."""
    pattern = re.compile(re.escape(prefix) + r'\.(\d+)\.')
    found = {int(m.group(1)) for k in state for m in [pattern.match(k)] if m}
    return max(found) + 1 if found else 0


def check_keys(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor], family: str,
               source: str, what: str) -> None:
    """Fail with a readable summary unless ``state`` has exactly the keys and shapes of
    ``expected``."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f'{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}' for k, v in expected.items()
              if k in state and state[k].shape != v.shape]
    if not (missing or unexpected or shapes):
        return
    lines = [f'{source}: the weights do not fit the {what} they describe:']
    for title, items in (('missing', missing), ('unexpected', unexpected),
                         ('shape mismatch (checkpoint vs model)', shapes)):
        if items:
            lines.append(f'  {len(items)} {title}: ' + ', '.join(items[:8]) +
                         (' ...' if len(items) > 8 else ''))
    guessed = guess_family(unexpected)
    if guessed and guessed != family:
        lines.append(f'  The keys look like a {guessed} checkpoint: use '
                     f'tools/model_converters/{guessed.lower()}2mmfish.py.')
    raise ConversionError('\n'.join(lines))


def fail_unplaced(unplaced: List[str], source: str, family: str, layouts: str) -> None:
    if not unplaced:
        return
    guessed = guess_family(unplaced)
    hint = ''
    if guessed and guessed != family:
        hint = (f'\nThe keys look like a {guessed} checkpoint: use '
                f'tools/model_converters/{guessed.lower()}2mmfish.py.')
    raise ConversionError(
        f'{source}: {len(unplaced)} keys could not be placed in a {family} model: '
        + ', '.join(unplaced[:10]) + (' ...' if len(unplaced) > 10 else '')
        + f'\nKnown {family} layouts: {layouts}.{hint}')


def save_atomic(obj, path: str) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it into place, so that
    ``path`` is either absent, the old file, or the complete new one."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def expected_state(build: Callable[[], torch.nn.Module]) -> Dict[str, torch.Tensor]:
    """The state dict of a freshly built module, on the meta device (no memory, no init)."""
    with torch.device('meta'):
        return build().state_dict()
