"""The checks of a backbone's arguments that name no family: integers, flags, choices, per-stage
values, output levels, ``init_cfg`` and norm configs, and the table of how each shared argument
is checked (:data:`ARGUMENTS`; a family passes its own arguments' kinds to
:func:`check_arguments`). Each check raises a ValueError that names the argument, the value
given and what is valid."""
import inspect
import numbers
from typing import Optional, Sequence

from ..suggest import closest

NUM_LEVELS = 4  # pyramid levels at strides 4, 8, 16 and 32


# -- simple arguments -----------------------------------------------------------------------
def is_int(value) -> bool:
    """Whether ``value`` is an integer: Python's or numpy's, but not a bool (``True`` is no
    count) nor a float, even a whole one (``2.0``)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_choice(name: str, value, valid) -> None:
    """``value`` must be one of ``valid``; where those are integers, an integer (``50.0``
    equals 50 but is no depth)."""
    ints = all(is_int(v) for v in valid)
    try:
        found = (is_int(value) if ints else not isinstance(value, bool)) and value in valid
    except TypeError:  # unhashable
        found = False
    if not found:
        raise ValueError(f'{name}={value!r} is not supported; valid values: '
                         f'{", ".join(map(str, sorted(valid)))}'
                         + (f' (integers, not a {type(value).__name__})'
                            if ints and not is_int(value) else ''))


def check_int(name: str, value, minimum: int = 1) -> None:
    """``value`` must be an integer (:func:`is_int`) ``>= minimum``."""
    if not is_int(value) or value < minimum:
        kind = '' if is_int(value) else f'it is a {type(value).__name__}; '
        raise ValueError(f'{name}={value!r} is invalid: {kind}it must be an integer >= '
                         f'{minimum}')


def check_bool(name: str, value) -> None:
    """``value`` must be True or False: a string such as ``'False'`` would count as true."""
    if not isinstance(value, bool):
        raise ValueError(f'{name}={value!r} is invalid: it must be True or False (a '
                         f'{type(value).__name__}' + (', which Python counts as true'
                                                       if value else '') + ')')


def check_channels_last(name: str, value) -> None:
    """``value`` must be True, False or ``'auto'`` (a string such as ``'false'`` would count
    as true)."""
    if value != 'auto' and not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is invalid: it must be True, False or 'auto' (the "
                         f'layout measured faster for the device, CPU ISA and mode)')


def check_init_cfg(name: str, init_cfg) -> None:
    """MMEngine's ``init_cfg``: None, a dict with a type or a list of them (a string such as
    ``'Pretrained'`` would end in a bare AssertionError when the weights are initialised)."""
    example = "init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')"
    if init_cfg is None:
        return
    if not isinstance(init_cfg, (dict, list, tuple)):
        raise ValueError(f'{name}={init_cfg!r} is invalid: give a dict, e.g. {example}')
    for i, entry in enumerate([init_cfg] if isinstance(init_cfg, dict) else init_cfg):
        where = '' if isinstance(init_cfg, dict) else f' its entry {i} ({entry!r})'
        if not isinstance(entry, dict):
            raise ValueError(f'{name}={init_cfg!r} is invalid:{where} is not a dict; give a '
                             f'dict or a list of dicts, e.g. {example}')
        if 'type' not in entry:
            raise ValueError(f'{name}={init_cfg!r} is invalid:{where or " it"} has no type; '
                             f'e.g. {example}')


def check_out_indices(name: str, out_indices: Sequence[int]) -> None:
    """Pyramid levels, each once, in increasing order."""
    if not isinstance(out_indices, (list, tuple)):
        raise ValueError(f'{name}={out_indices!r} is invalid; give a tuple of pyramid '
                         f'levels, e.g. (0, 1, 2, 3) or (3, )')
    out_indices = tuple(out_indices)
    if not out_indices or any(not is_int(i) or not 0 <= i < NUM_LEVELS for i in out_indices):
        raise ValueError(f'{name}={out_indices} is invalid; each index must be in '
                         f'0..{NUM_LEVELS - 1} (pyramid levels at strides 4, 8, 16, 32)')
    if list(out_indices) != sorted(set(out_indices)):
        raise ValueError(f'{name}={out_indices} is invalid; give each level once, in '
                         f'increasing order: {tuple(sorted(set(out_indices)))}')


def check_per_stage(name: str, values: Sequence[int]) -> None:
    """One integer (:func:`is_int`) ``>= 1`` per stage (strides, dilations)."""
    bad = []
    try:
        values = tuple(values)
        bad = [v for v in values if not is_int(v)]
    except TypeError:  # not a sequence: refused below
        pass
    if not isinstance(values, tuple) or len(values) != NUM_LEVELS or bad \
            or any(v < 1 for v in values):
        raise ValueError(f'{name}={values!r} is invalid: give {NUM_LEVELS} integers >= 1, '
                         f'one per stage, e.g. (1, 2, 2, 2) for strides'
                         + (f' ({bad[0]!r} is a {type(bad[0]).__name__})' if bad else ''))

def registered_layer(layer: str):
    """The class mmcv's registries know as ``layer`` (BN, GN, ContextBlock, ...), or None."""
    import mmcv.cnn  # noqa: F401  (registers BN, SyncBN, GN, ContextBlock, ...)
    from mmengine.registry import MODELS
    with MODELS.switch_scope_and_registry(None) as registry:
        try:
            return registry.get(layer)
        except Exception:  # e.g. an unknown scope
            return None


def _norm_types() -> list:
    """The norm layer names MMEngine's registry knows (mmcv registers them there)."""
    from mmengine.registry import MODELS
    norms = ('BN', 'SyncBN', 'GN', 'LN', 'IN')
    names = [n for n in MODELS.module_dict if n.startswith(norms) or n.endswith('Norm')]
    return sorted(set(names) | {'mmfish.SyncBN'})


def is_group_norm(norm_cfg: dict) -> bool:
    """Whether a (checked) norm config builds GroupNorm layers."""
    layer = norm_cfg['type']
    if isinstance(layer, str):
        layer = registered_layer(layer)
    return getattr(layer, '__name__', '') == 'GroupNorm'


def check_norm_cfg(name: str, norm_cfg) -> None:
    """A dict with a ``type`` that names a norm layer; GroupNorm also needs ``num_groups``."""
    example = "dict(type='BN', requires_grad=True)"
    if not isinstance(norm_cfg, dict):
        hint = (f": {name}=dict(type={norm_cfg!r})" if isinstance(norm_cfg, str) else '')
        raise ValueError(f'{name}={norm_cfg!r} is invalid: give a dict such as {example}{hint}')
    if 'type' not in norm_cfg:
        raise ValueError(f'{name}={norm_cfg!r} has no type: e.g. {example}')
    layer = norm_cfg['type']
    if isinstance(layer, str) and registered_layer(layer) is None:
        valid = _norm_types()
        close = closest(layer, valid)
        raise ValueError(f'{name}={norm_cfg!r}: unknown norm layer type {layer!r}'
                         + (f' (did you mean {close!r}?)' if close else '')
                         + f'; valid types: {", ".join(valid)}')
    if is_group_norm(norm_cfg):
        groups = norm_cfg.get('num_groups')
        if groups is None:
            raise ValueError(f'{name}={norm_cfg!r}: GroupNorm needs num_groups, e.g. '
                             f"dict(type='GN', num_groups=16, requires_grad=True)")
        check_int(f'{name}["num_groups"]', groups)


def check_optional_norm_cfg(name: str, norm_cfg) -> None:
    """None (another argument's norm config) or a norm config (:func:`check_norm_cfg`)."""
    if norm_cfg is not None:
        check_norm_cfg(name, norm_cfg)

#: how each argument that the backbones share is checked: an integer is the smallest valid value
#: of an integer argument, ``bool`` a flag, a tuple the valid values, a function checks
#: ``(name, value)``; a family declares its own arguments' kinds beside its model
ARGUMENTS = {
    'in_channels': 1, 'stem_channels': 1, 'base_channels': 1, 'base_width': 1, 'groups': 1,
    'frozen_stages': -1, 'deep_stem': bool, 'avg_down': bool, 'contract_dilation': bool,
    'with_cp': bool, 'norm_eval': bool, 'zero_init_residual': bool,
    'channels_last': check_channels_last,
    'strides': check_per_stage, 'dilations': check_per_stage, 'out_indices': check_out_indices,
    'norm_cfg': check_norm_cfg, 'init_cfg': check_init_cfg,
}


def check_arguments(minimum: Optional[dict] = None, kinds: Optional[dict] = None,
                    **values) -> None:
    """Check each argument in ``values`` as :data:`ARGUMENTS` or the family's ``kinds`` declare
    (same form), in the order given; ``minimum`` raises the smallest valid value of some
    integer arguments."""
    for name, value in values.items():
        kind = (kinds or {}).get(name, ARGUMENTS.get(name))
        if kind is bool:
            check_bool(name, value)
        elif is_int(kind):
            check_int(name, value, (minimum or {}).get(name, kind))
        elif isinstance(kind, tuple):
            check_choice(name, value, kind)
        else:
            kind(name, value)


def init_parameters(classes) -> dict:
    """The named arguments of the ``__init__`` of ``classes`` (without ``self``, ``*args``
    and ``**kwargs``), in order, each once: ``{name: inspect.Parameter}`` of the first class
    that declares it."""
    found = {}
    for klass in classes:
        init = klass.__dict__.get('__init__')
        for p in inspect.signature(init).parameters.values() if init else ():
            if p.name != 'self' and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                found.setdefault(p.name, p)
    return found


def init_arguments(classes) -> list:
    """The arguments of the ``__init__`` of ``classes``, in order, each once."""
    return list(init_parameters(classes))


def divisors(n: int) -> list:
    """The divisors of ``n``, in increasing order (the ``num_groups`` or ``radix`` values that
    fit ``n`` channels)."""
    return [d for d in range(1, n + 1) if n % d == 0]


def fewer_groups(channels: int) -> int:
    """The most groups of ``channels`` that leave two or more channels in each (0: none)."""
    return max((d for d in divisors(channels) if d <= channels // 2), default=0)
