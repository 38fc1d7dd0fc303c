"""Argument checks of the backbones: each raises a ValueError that names the argument, the
value given and what is valid."""
import difflib
import functools
import inspect
import math
from typing import Iterable, Sequence

import torch
import torch.nn as nn

NUM_LEVELS = 4  # pyramid levels at strides 4, 8, 16 and 32

#: arguments of mmdet's ResNet that mmfish's backbones do not take (yet), and why
UNSUPPORTED_MMDET_ARGS = {
    'dcn': 'deformable convolutions',
    'stage_with_dcn': 'deformable convolutions',
    'plugins': 'plugin layers',
    'style': "the 'pytorch'/'caffe' stride placement (mmfish always strides in the 3x3 "
             "stage, as 'pytorch' does)",
    'num_stages': 'fewer than 4 stages (use out_indices to choose the levels)',
    'pretrained': "the deprecated pretrained=PATH (use init_cfg=dict(type='Pretrained', "
                  "checkpoint=PATH))",
}


def check_choice(name: str, value, valid) -> None:
    if isinstance(value, bool) or value not in valid:
        raise ValueError(f'{name}={value!r} is not supported; valid values: '
                         f'{", ".join(map(str, sorted(valid)))}')


def check_int(name: str, value, minimum: int = 1) -> None:
    """``value`` must be an integer ``>= minimum``."""
    try:
        valid = not isinstance(value, bool) and int(value) == value and value >= minimum
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f'{name}={value!r} is invalid: it must be an integer >= {minimum}')


def check_bool(name: str, value) -> None:
    """``value`` must be True or False: a string such as ``'False'`` would count as true."""
    if not isinstance(value, bool):
        raise ValueError(f'{name}={value!r} is invalid: it must be True or False (a '
                         f'{type(value).__name__}' + (', which Python counts as true'
                                                       if value else '') + ')')


def check_out_indices(out_indices: Sequence[int]) -> tuple:
    if not isinstance(out_indices, (list, tuple)):
        raise ValueError(f'out_indices={out_indices!r} is invalid; give a tuple of pyramid '
                         f'levels, e.g. (0, 1, 2, 3) or (3, )')
    out_indices = tuple(out_indices)
    if not out_indices or any(isinstance(i, bool) or not isinstance(i, int)
                              or not 0 <= i < NUM_LEVELS for i in out_indices):
        raise ValueError(f'out_indices={out_indices} is invalid; each index must be in '
                         f'0..{NUM_LEVELS - 1} (pyramid levels at strides 4, 8, 16, 32)')
    if list(out_indices) != sorted(set(out_indices)):
        raise ValueError(f'out_indices={out_indices} is invalid; give each level once, in '
                         f'increasing order: {tuple(sorted(set(out_indices)))}')
    return out_indices


def check_per_stage(name: str, values: Sequence[int], minimum: int = 1) -> tuple:
    """One integer ``>= minimum`` per stage (strides, dilations)."""
    try:
        values = tuple(values)
        valid = len(values) == NUM_LEVELS and all(
            not isinstance(v, bool) and int(v) == v and v >= minimum for v in values)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f'{name}={values!r} is invalid: give {NUM_LEVELS} integers >= '
                         f'{minimum}, one per stage, e.g. (1, 2, 2, 2) for strides')
    return values


def _norm_types() -> list:
    """The norm layer names MMEngine's registry knows (mmcv registers them there)."""
    from mmengine.registry import MODELS
    norms = ('BN', 'SyncBN', 'GN', 'LN', 'IN')
    names = [n for n in MODELS.module_dict if n.startswith(norms) or n.endswith('Norm')]
    return sorted(set(names) | {'mmfish.SyncBN'})


def check_norm_cfg(norm_cfg, name: str = 'norm_cfg') -> None:
    """A dict with a ``type`` that names a norm layer; GroupNorm also needs ``num_groups``."""
    example = "dict(type='BN', requires_grad=True)"
    if not isinstance(norm_cfg, dict):
        hint = (f": {name}=dict(type={norm_cfg!r})" if isinstance(norm_cfg, str) else '')
        raise ValueError(f'{name}={norm_cfg!r} is invalid: give a dict such as {example}{hint}')
    if 'type' not in norm_cfg:
        raise ValueError(f'{name}={norm_cfg!r} has no type: e.g. {example}')
    layer = norm_cfg['type']
    if isinstance(layer, str):
        import mmcv.cnn  # noqa: F401  (registers BN, SyncBN, GN, ...)
        from mmengine.registry import MODELS
        with MODELS.switch_scope_and_registry(None) as registry:
            try:
                found = registry.get(layer)
            except Exception:  # e.g. an unknown scope
                found = None
        if found is None:
            valid = _norm_types()
            close = difflib.get_close_matches(layer, valid, n=1)
            raise ValueError(f'{name}={norm_cfg!r}: unknown norm layer type {layer!r}'
                             + (f' (did you mean {close[0]!r}?)' if close else '')
                             + f'; valid types: {", ".join(valid)}')
        is_gn = layer == 'GN' or found.__name__ == 'GroupNorm'
    else:
        is_gn = getattr(layer, '__name__', '') == 'GroupNorm'
    if is_gn:
        groups = norm_cfg.get('num_groups')
        if groups is None:
            raise ValueError(f'{name}={norm_cfg!r}: GroupNorm needs num_groups, e.g. '
                             f"dict(type='GN', num_groups=32, requires_grad=True)")
        check_int(f'{name}["num_groups"]', groups)


def _valid_arguments(cls) -> list:
    names = []
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != 'self' and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) \
                    and p.name not in names:
                names.append(p.name)
    return names


def reject_unknown(cls, names: Iterable[str], extra: Iterable[str] = ()) -> None:
    """Refuse the keyword arguments ``names`` that ``cls`` does not take, naming the closest
    valid one; ``extra`` are further valid names (a family's block arguments)."""
    names = list(names)
    if not names:
        return
    valid = _valid_arguments(cls) + [n for n in extra if n not in _valid_arguments(cls)]
    problems = []
    for name in names:
        if name in UNSUPPORTED_MMDET_ARGS:
            problems.append(f'{name!r} (an argument of mmdet\'s ResNet: '
                            f'{UNSUPPORTED_MMDET_ARGS[name]} are not supported by '
                            f'{cls.__name__})' if name in ('dcn', 'stage_with_dcn', 'plugins')
                            else f'{name!r} (mmdet\'s ResNet argument for '
                            f'{UNSUPPORTED_MMDET_ARGS[name]}: not supported by {cls.__name__})')
            continue
        close = difflib.get_close_matches(name, valid, n=1)
        problems.append(f'{name!r}' + (f' (did you mean {close[0]!r}?)' if close else ''))
    raise ValueError(f'{cls.__name__} got unknown argument{"s" if len(names) > 1 else ""} '
                     + ', '.join(problems) + f'; valid arguments: {", ".join(valid)}')


class _NormProbe(nn.Module):
    """Stands in for every norm layer when a backbone is rebuilt only to list its norm
    layers' channels (named like GroupNorm layers: ``gn1``, ...)."""
    _abbr_ = 'gn'

    def __init__(self, num_features, **kwargs):
        super().__init__()
        self.num_features = num_features


def _group_norm_message(cls, args, kwargs, norm_cfg) -> str:
    groups = norm_cfg.get('num_groups')
    message = (f'norm_cfg={norm_cfg!r} does not fit this {cls.__name__}: GroupNorm needs '
               f'num_groups to divide the channels of every norm layer')
    try:
        with torch.device('meta'):  # no memory, no initialisation
            model = cls(*args, **dict(kwargs, norm_cfg=dict(type=_NormProbe), init_cfg=None))
        channels = {name: m.num_features for name, m in model.named_modules()
                    if isinstance(m, _NormProbe)}
        bad = [f'{name}: {c}' for name, c in channels.items() if c % groups]
        gcd = math.gcd(*channels.values())
    except Exception:  # the rebuild failed for another reason: say what we know
        return f'{message}, and num_groups={groups} does not'
    valid = [d for d in range(1, gcd + 1) if gcd % d == 0]
    return (f'{message}; num_groups={groups} does not divide the channels of {len(bad)} of '
            f'its {len(channels)} norm layers (e.g. {", ".join(bad[:3])}); valid num_groups '
            f'for this configuration: {", ".join(map(str, valid))}')


def explains_group_norm_errors(init):
    """Decorates a backbone's ``__init__``: torch's GroupNorm error (``num_channels (26) must
    be divisible by num_groups (4)``, no layer named) becomes one that names ``norm_cfg``, the
    layers whose channels ``num_groups`` does not divide and the values that fit every layer.
    Which layers have which channels is known only by building them, so on that error the
    backbone is rebuilt once on the meta device with a probe for every norm layer; a build
    that succeeds costs nothing."""

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except ValueError as exc:
            norm_cfg = kwargs.get('norm_cfg')
            if 'divisible by num_groups' not in str(exc) or not isinstance(norm_cfg, dict) \
                    or not isinstance(norm_cfg.get('num_groups'), int):
                raise
            raise ValueError(_group_norm_message(type(self), args, kwargs, norm_cfg)) from None

    return __init__
