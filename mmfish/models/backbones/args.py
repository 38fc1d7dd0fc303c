"""Argument checks of the backbones: each raises a ValueError that names the argument, the
value given and what is valid."""
import difflib
import functools
import inspect
import math
import numbers
from typing import Iterable, Sequence

import torch
import torch.nn as nn

NUM_LEVELS = 4  # pyramid levels at strides 4, 8, 16 and 32

#: arguments of mmdet's ResNet, and what they are for. Res2Net, ResNeSt and FishNet take them
#: all (:func:`check_dcn`, :func:`check_plugins`, :func:`mmdet_resnet_init_cfg`); a backbone
#: that does not (Res2NetDLA) refuses them with this description
UNSUPPORTED_MMDET_ARGS = {
    'dcn': 'deformable convolutions',
    'stage_with_dcn': 'deformable convolutions',
    'plugins': 'plugin layers',
    'style': "the 'pytorch'/'caffe' stride placement",
    'num_stages': 'fewer than 4 stages (use out_indices to choose the levels)',
    'pretrained': "the deprecated pretrained=PATH (use init_cfg=dict(type='Pretrained', "
                  "checkpoint=PATH))",
}
#: the backbones that take mmdet's ResNet arguments above
MMDET_CONTRACT_BACKBONES = ('Res2Net', 'ResNeSt', 'FishNet')


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


def check_init_cfg(init_cfg) -> None:
    """MMEngine's ``init_cfg``: None, a dict with a type or a list of them (a string such as
    ``'Pretrained'`` would end in a bare AssertionError when the weights are initialised)."""
    example = "init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')"
    if init_cfg is None:
        return
    if not isinstance(init_cfg, (dict, list, tuple)):
        raise ValueError(f'init_cfg={init_cfg!r} is invalid: give a dict, e.g. {example}')
    for i, entry in enumerate([init_cfg] if isinstance(init_cfg, dict) else init_cfg):
        where = '' if isinstance(init_cfg, dict) else f' its entry {i} ({entry!r})'
        if not isinstance(entry, dict):
            raise ValueError(f'init_cfg={init_cfg!r} is invalid:{where} is not a dict; give a '
                             f'dict or a list of dicts, e.g. {example}')
        if 'type' not in entry:
            raise ValueError(f'init_cfg={init_cfg!r} is invalid:{where or " it"} has no type; '
                             f'e.g. {example}')


def check_out_indices(out_indices: Sequence[int]) -> tuple:
    if not isinstance(out_indices, (list, tuple)):
        raise ValueError(f'out_indices={out_indices!r} is invalid; give a tuple of pyramid '
                         f'levels, e.g. (0, 1, 2, 3) or (3, )')
    out_indices = tuple(out_indices)
    if not out_indices or any(not is_int(i) or not 0 <= i < NUM_LEVELS for i in out_indices):
        raise ValueError(f'out_indices={out_indices} is invalid; each index must be in '
                         f'0..{NUM_LEVELS - 1} (pyramid levels at strides 4, 8, 16, 32)')
    if list(out_indices) != sorted(set(out_indices)):
        raise ValueError(f'out_indices={out_indices} is invalid; give each level once, in '
                         f'increasing order: {tuple(sorted(set(out_indices)))}')
    return out_indices


def check_per_stage(name: str, values: Sequence[int], minimum: int = 1) -> tuple:
    """One integer (:func:`is_int`) ``>= minimum`` per stage (strides, dilations)."""
    bad = []
    try:
        values = tuple(values)
        bad = [v for v in values if not is_int(v)]
    except TypeError:  # not a sequence: refused below
        pass
    if not isinstance(values, tuple) or len(values) != NUM_LEVELS or bad \
            or any(v < minimum for v in values):
        raise ValueError(f'{name}={values!r} is invalid: give {NUM_LEVELS} integers >= '
                         f'{minimum}, one per stage, e.g. (1, 2, 2, 2) for strides'
                         + (f' ({bad[0]!r} is a {type(bad[0]).__name__})' if bad else ''))
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
                             f"dict(type='GN', num_groups=16, requires_grad=True)")
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
            takes = ', '.join(MMDET_CONTRACT_BACKBONES)
            problems.append(f'{name!r} (an argument of mmdet\'s ResNet: '
                            f'{UNSUPPORTED_MMDET_ARGS[name]} are not supported by '
                            f'{cls.__name__}; {takes} take it)'
                            if name in ('dcn', 'stage_with_dcn', 'plugins')
                            else f'{name!r} (mmdet\'s ResNet argument for '
                            f'{UNSUPPORTED_MMDET_ARGS[name]}: not supported by {cls.__name__}; '
                            f'{takes} take it)')
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
                    or not is_int(norm_cfg.get('num_groups')):
                raise
            raise ValueError(_group_norm_message(type(self), args, kwargs, norm_cfg)) from None

    return __init__


# -- mmdet's ResNet contract: dcn, stage_with_dcn, plugins, style, num_stages, pretrained -----
def check_dcn(dcn, stage_with_dcn, conv_cfg, num: int = NUM_LEVELS, what: str = 'stage'):
    """``dcn`` (None or a dict such as ``dict(type='DCNv2', deform_groups=1,
    fallback_on_stride=False)``) and ``stage_with_dcn`` (``num`` bools); returns them, the
    latter as a tuple. As in mmdet, ``stage_with_dcn`` is ignored without ``dcn``."""
    from ..layers.dcn import DCN_TYPES
    example = "dict(type='DCNv2', deform_groups=1, fallback_on_stride=False)"
    try:
        stages = tuple(stage_with_dcn)
    except TypeError:
        stages = None
    if stages is None or len(stages) != num or not all(isinstance(s, bool) for s in stages):
        raise ValueError(f'stage_with_dcn={stage_with_dcn!r} is invalid: give {num} bools, one '
                         f'per {what}, e.g. {(False, ) * (num - 2) + (True, True)}')
    if dcn is None:
        return None, stages
    if not isinstance(dcn, dict) or 'type' not in dcn:
        raise ValueError(f'dcn={dcn!r} is invalid: give a dict such as {example}')
    if dcn['type'] not in DCN_TYPES:
        raise ValueError(f"dcn={dcn!r}: unknown deformable convolution type {dcn['type']!r}; "
                         f'valid types: {", ".join(DCN_TYPES)} (mmcv\'s DeformConv2dPack and '
                         f'ModulatedDeformConv2dPack)')
    unknown = sorted(set(dcn) - {'type', 'deform_groups', 'fallback_on_stride'})
    if unknown:
        raise ValueError(f'dcn={dcn!r}: unknown key{"s" if len(unknown) > 1 else ""} '
                         f'{", ".join(unknown)}; valid keys: type, deform_groups, '
                         f'fallback_on_stride')
    check_int('dcn["deform_groups"]', dcn.get('deform_groups', 1))
    check_bool('dcn["fallback_on_stride"]', dcn.get('fallback_on_stride', False))
    if conv_cfg is not None and any(stages):
        raise ValueError(f'dcn={dcn!r} with conv_cfg={conv_cfg!r}: the deformable convolutions '
                         f'replace the 3x3 convolutions that conv_cfg would build; give one of '
                         f'them (as mmdet, which asserts conv_cfg is None for DCN)')
    return dict(dcn), stages


def check_plugins(plugins, num: int = NUM_LEVELS, what: str = 'stage') -> list:
    """mmdet's ``plugins``: a list of ``dict(cfg=dict(type=..., ...), position=...,
    stages=...)``; returns it (copied), each plugin type checked against the registry."""
    from ..layers.plugins import POSITIONS
    if plugins is None:
        return []
    example = ("[dict(cfg=dict(type='ContextBlock', ratio=1. / 16), stages=(False, True, True, "
               "True), position='after_conv3')]")
    if not isinstance(plugins, (list, tuple)):
        raise ValueError(f'plugins={plugins!r} is invalid: give a list of dicts, e.g. {example}')
    checked = []
    for i, plugin in enumerate(plugins):
        where = f'plugins[{i}]={plugin!r}'
        if not isinstance(plugin, dict) or not isinstance(plugin.get('cfg'), dict) \
                or 'type' not in plugin['cfg']:
            raise ValueError(f'{where} is invalid: each plugin is a dict with cfg (a dict with '
                             f'a type), position and optionally stages, e.g. {example}')
        unknown = sorted(set(plugin) - {'cfg', 'position', 'stages'})
        if unknown:
            raise ValueError(f'{where}: unknown key{"s" if len(unknown) > 1 else ""} '
                             f'{", ".join(unknown)}; valid keys: cfg, position, stages')
        if plugin.get('position') not in POSITIONS:
            raise ValueError(f'{where}: position={plugin.get("position")!r} is invalid; valid '
                             f'positions: {", ".join(POSITIONS)}')
        stages = plugin.get('stages')
        if stages is not None:
            try:
                stages = tuple(stages)
            except TypeError:
                stages = ()
            if len(stages) != num or not all(isinstance(s, bool) for s in stages):
                raise ValueError(f'{where}: stages={plugin["stages"]!r} is invalid: give {num} '
                                 f'bools, one per {what} (or leave stages out for all)')
        layer = plugin['cfg']['type']
        if isinstance(layer, str):
            import mmcv.cnn  # noqa: F401  (registers ContextBlock, NonLocal2d, ...)
            from mmengine.registry import MODELS
            with MODELS.switch_scope_and_registry(None) as registry:
                try:
                    found = registry.get(layer)
                except Exception:  # e.g. an unknown scope
                    found = None
            if found is None:
                raise ValueError(f'{where}: unknown plugin layer type {layer!r}; e.g. '
                                 f'ContextBlock, GeneralizedAttention, NonLocal2d (mmcv)')
        checked.append(dict(cfg=dict(plugin['cfg']), position=plugin['position'],
                            stages=stages))
    return checked


def mmdet_resnet_init_cfg(cls, style, num_stages, pretrained, init_cfg, default_init_cfg):
    """Check ``style`` and ``num_stages`` as mmdet's ResNet takes them and map the deprecated
    ``pretrained=PATH`` to ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` with a
    DeprecationWarning, as mmdet does; returns the ``init_cfg`` to use."""
    import warnings
    name = cls.__name__
    if style != 'pytorch':
        why = ("mmfish's blocks stride in their 3x3 stage, as the official models and every "
               "released checkpoint do ('pytorch'); 'caffe' (the stride in the first 1x1 conv) "
               "has no released weights for this family" if style == 'caffe' else
               "mmdet's two styles are 'pytorch' and 'caffe'")
        raise ValueError(f"style={style!r} is not supported by {name}: {why}; valid: "
                         f"'pytorch'")
    if not is_int(num_stages) or num_stages != NUM_LEVELS:
        raise ValueError(f'num_stages={num_stages!r} is not supported by {name}: it always '
                         f'builds its {NUM_LEVELS} stages (valid: {NUM_LEVELS}); choose the '
                         f'returned levels with out_indices, e.g. out_indices=(0, 1, 2) for '
                         f'the first three')
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise ValueError(f'pretrained={pretrained!r} is invalid: give a checkpoint path or URL '
                         f"(deprecated: use init_cfg=dict(type='Pretrained', checkpoint=PATH))")
    if init_cfg is not default_init_cfg and init_cfg:
        raise ValueError(f'pretrained={pretrained!r} and init_cfg={init_cfg!r} were both given: '
                         f"give one (init_cfg=dict(type='Pretrained', checkpoint=PATH))")
    warnings.warn(f"{name}: pretrained is deprecated, use init_cfg=dict(type='Pretrained', "
                  f'checkpoint={pretrained!r}) instead', DeprecationWarning, stacklevel=3)
    return dict(type='Pretrained', checkpoint=pretrained)
