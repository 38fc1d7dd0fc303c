"""Comparing a state dict with the one a model expects, and checking the values of weights.

One comparison (:func:`diff_state`) serves the converters and the backbones' strict
``Pretrained`` loading; each words its own message from the result.
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

#: counters that a checkpoint may lack (saved by PyTorch < 0.4.1, or by other libraries)
OPTIONAL_SUFFIXES = ('num_batches_tracked', )


def is_optional(key: str) -> bool:
    return key.endswith(OPTIONAL_SUFFIXES)


@dataclass
class StateDiff:
    """What separates a checkpoint's state dict from a model's."""
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    #: (key, checkpoint shape, model shape)
    shapes: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)


def diff_state(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor],
               optional: Callable[[str], bool] = lambda key: False) -> StateDiff:
    """Missing keys (except those ``optional`` accepts), unexpected keys and shape mismatches
    of ``state`` against ``expected``."""
    return StateDiff(
        missing=[k for k in expected if k not in state and not optional(k)],
        unexpected=[k for k in state if k not in expected],
        shapes=[(k, tuple(v.shape), tuple(expected[k].shape)) for k, v in state.items()
                if k in expected and v.shape != expected[k].shape])


#: the key suffix of BatchNorm's running variance, never negative (BatchNorm divides by its root)
VARIANCE_SUFFIX = 'running_var'


def storage_problem(value: torch.Tensor) -> Optional[str]:
    """What makes ``value`` unusable as a weight whatever its values: a meta tensor (a shape
    without data), a sparse layout, a quantized or complex dtype; None for a dense real
    tensor."""
    if value.is_meta:
        return 'a meta tensor, which holds no data (only a shape)'
    if value.layout != torch.strided:
        return f'sparse ({value.layout}), not a dense tensor'
    if value.is_quantized:
        return f'quantized ({value.dtype}), not floating point'
    if value.is_complex():
        return f'complex ({value.dtype}), not real floating point'
    return None


def value_problem(key: str, value: torch.Tensor) -> Optional[str]:
    """NaN or infinite values in a floating-point tensor, or negative values in a BatchNorm
    running variance; None when there are none."""
    if not value.is_floating_point() or not value.numel():
        return None
    finite = torch.isfinite(value)
    if not bool(finite.all()):
        nan = int(torch.isnan(value).sum())
        inf = value.numel() - int(finite.sum()) - nan
        return f'{nan} NaN, {inf} inf of {value.numel()} values'
    if key.endswith(VARIANCE_SUFFIX):
        negative = int((value < 0).sum())
        if negative:
            return (f'{negative} negative of {value.numel()} values (min {value.min().item():g})'
                    f'; a variance is >= 0')
    return None


def bad_values(state: Dict[str, torch.Tensor],
               expected: Optional[Dict[str, torch.Tensor]] = None) -> List[str]:
    """Descriptions of the tensors that cannot be weights: a meta, sparse, quantized or
    complex tensor (:func:`storage_problem`); not floating point where the model has floating
    point (without ``expected``: anything but the ``num_batches_tracked`` counters); holding
    NaN or infinite values, or a negative BatchNorm running variance (:func:`value_problem`)."""
    bad = []
    for key, value in state.items():
        wants_float = (expected[key].is_floating_point() if expected is not None
                       and key in expected else not is_optional(key))
        problem = storage_problem(value)
        if problem is None and wants_float and not value.is_floating_point():
            problem = f'{value.dtype}, not floating point'
        problem = problem or value_problem(key, value)
        if problem:
            bad.append(f'{key} ({problem})')
    return bad


def check_values(state: Dict[str, torch.Tensor], source: str, error: type,
                 expected: Optional[Dict[str, torch.Tensor]] = None) -> None:
    """Raise ``error`` naming the tensors of ``state`` that :func:`bad_values` finds."""
    bad = bad_values(state, expected)
    if bad:
        raise error(f'{source}: {len(bad)} tensor{"s" if len(bad) > 1 else ""} cannot be '
                    f'weights: ' + ', '.join(bad[:8]) + (' ...' if len(bad) > 8 else '')
                    + '. A model loaded from them would compute garbage or fail (integer weights '
                    'are truncated, NaN and inf spread through every layer, a negative variance '
                    'gives NaN; meta, sparse, quantized and complex tensors are not dense real '
                    'weights): the file is damaged, was saved from a diverged training run, or '
                    'holds something other than trained weights.')


#: how many key names :func:`check_fits` shows per kind
_SHOWN = 3


def _few(keys: Sequence[str]) -> str:
    return ', '.join(keys[:_SHOWN]) + (f', ... ({len(keys) - _SHOWN} more)'
                                       if len(keys) > _SHOWN else '')


def check_fits(model, state: Dict[str, Any], checkpoint: str, config: str = 'the config'
               ) -> None:
    """Refuse ``state`` (the checkpoint's state dict, as MMEngine loads it) unless its
    tensors are exactly those of ``model`` by name and shape (BatchNorm's
    ``num_batches_tracked`` counters may be absent), with a
    :class:`~mmfish.checkpoint.io.CheckpointMismatchError` naming the missing, unexpected and
    other-shaped keys (a few of each, and how many). Weights that cannot be weights (NaN,
    infinite, integer where the model has floats, ...) are refused too (:func:`check_values`).
    The inferencers (:mod:`mmfish.apis`) and the export (:mod:`mmfish.deploy`) load with it."""
    from mmengine.model import is_model_wrapper

    from .io import CheckpointMismatchError
    model = model.module if is_model_wrapper(model) else model
    expected = model.state_dict()
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    diff = diff_state(tensors, expected, optional=is_optional)
    unexpected = diff.unexpected + [k for k in state if k not in tensors and k not in expected]
    if not (diff.missing or unexpected or diff.shapes):
        check_values(tensors, f'checkpoint {checkpoint}', CheckpointMismatchError, expected)
        return
    parts = []
    if diff.missing:
        parts.append(f'{len(diff.missing)} of the model\'s {len(expected)} tensors missing '
                     f'({_few(diff.missing)})')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected ({_few(unexpected)})')
    if diff.shapes:
        shown = [f'{k}: {list(a)} in the file, {list(b)} in the model'
                 for k, a, b in diff.shapes[:_SHOWN]]
        more = f', ... ({len(diff.shapes) - _SHOWN} more)' if len(diff.shapes) > _SHOWN else ''
        parts.append(f'{len(diff.shapes)} of another shape ({"; ".join(shown)}{more})')
    fitting = sum(1 for k in tensors if k in expected and not is_optional(k)) - len(diff.shapes)
    if fitting <= 0:
        cause = 'none of its tensors is a weight of this model: it is a checkpoint of another model'
    elif diff.missing or diff.shapes:
        cause = 'the model\'s tensors it lacks would keep their random initial values'
    else:
        cause = 'the unexpected tensors belong to another model'
    raise CheckpointMismatchError(
        f'checkpoint {checkpoint} does not fit the model of {config}: {"; ".join(parts)}; '
        f'{cause}. Give the checkpoint trained with this config')
