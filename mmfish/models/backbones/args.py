"""The checks of the backbones: their arguments when they are built, their input when they run,
and the norm layers that cannot normalise what reaches them. Each check raises an error that
names the argument (or the layer), the value given and what is valid."""
import difflib
import inspect
import math
import numbers
import re
from typing import Iterable, Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

NUM_LEVELS = 4  # pyramid levels at strides 4, 8, 16 and 32

#: arguments of mmdet's ResNet, and what they are for. The backbones whose ``mmdet_contract``
#: is True take them all (:func:`check_dcn`, :func:`check_plugins`,
#: :func:`mmdet_resnet_init_cfg`); the others (Res2NetDLA) refuse them with this description
UNSUPPORTED_MMDET_ARGS = {
    'dcn': 'deformable convolutions',
    'stage_with_dcn': 'deformable convolutions',
    'plugins': 'plugin layers',
    'style': "the 'pytorch'/'caffe' stride placement",
    'num_stages': 'fewer than 4 stages (use out_indices to choose the levels)',
    'pretrained': "the deprecated pretrained=PATH (use init_cfg=dict(type='Pretrained', "
                  "checkpoint=PATH))",
}


def mmdet_contract_backbones() -> tuple:
    """The names of the backbones that take mmdet's ResNet arguments (``mmdet_contract``)."""
    from . import BACKBONES
    return tuple(cls.__name__ for cls in BACKBONES if cls.mmdet_contract)


def __getattr__(name):  # PEP 562: MMDET_CONTRACT_BACKBONES, once the backbones are defined
    if name == 'MMDET_CONTRACT_BACKBONES':
        return mmdet_contract_backbones()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


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


def _registered(layer: str):
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
        layer = _registered(layer)
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
    if isinstance(layer, str) and _registered(layer) is None:
        valid = _norm_types()
        close = difflib.get_close_matches(layer, valid, n=1)
        raise ValueError(f'{name}={norm_cfg!r}: unknown norm layer type {layer!r}'
                         + (f' (did you mean {close[0]!r}?)' if close else '')
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


#: how each argument of the backbones is checked: an integer is the smallest valid value of an
#: integer argument, ``bool`` a flag, a tuple the valid values, a function checks
#: ``(name, value)``
ARGUMENTS = {
    'in_channels': 1, 'stem_channels': 1, 'base_channels': 1, 'base_width': 1, 'groups': 1,
    'scales': 1, 'radix': 1, 'reduction_factor': 1, 'frozen_stages': -1,
    'deep_stem': bool, 'avg_down': bool, 'contract_dilation': bool, 'avd': bool,
    'avd_first': bool, 'with_cp': bool, 'norm_eval': bool, 'zero_init_residual': bool,
    'channels_last': check_channels_last,
    'strides': check_per_stage, 'dilations': check_per_stage, 'out_indices': check_out_indices,
    'norm_cfg': check_norm_cfg, 'attention_norm_cfg': check_optional_norm_cfg,
    'init_cfg': check_init_cfg, 'split_style': ('official', 'paddle', 'mmdet'),
}


def check_arguments(minimum: Optional[dict] = None, **values) -> None:
    """Check each argument in ``values`` as :data:`ARGUMENTS` declares, in the order given;
    ``minimum`` raises the smallest valid value of some integer arguments."""
    for name, value in values.items():
        kind = ARGUMENTS[name]
        if kind is bool:
            check_bool(name, value)
        elif is_int(kind):
            check_int(name, value, (minimum or {}).get(name, kind))
        elif isinstance(kind, tuple):
            check_choice(name, value, kind)
        else:
            kind(name, value)


def reject_unknown(cls, names: Iterable[str], valid: Sequence[str]) -> None:
    """Refuse the keyword arguments ``names``, which ``cls`` does not take, naming the closest
    of the ``valid`` ones (or, for mmdet's ResNet arguments, the backbones that take them)."""
    names = list(names)
    if not names:
        return
    problems = []
    for name in names:
        if name in UNSUPPORTED_MMDET_ARGS:
            takes = ', '.join(mmdet_contract_backbones())
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


def init_arguments(classes) -> list:
    """The arguments of the ``__init__`` of ``classes``, in order, each once."""
    names = []
    for klass in classes:
        init = klass.__dict__.get('__init__')
        for p in inspect.signature(init).parameters.values() if init else ():
            if p.name != 'self' and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) \
                    and p.name not in names:
                names.append(p.name)
    return names


# -- GroupNorm: num_groups must divide the channels of every norm layer ---------------------
class GroupNormSlot(nn.GroupNorm):
    """A GroupNorm built with one group that keeps the ``num_groups`` asked for: while a
    backbone is built, every GroupNorm of ``norm_cfg`` is one, so that a ``num_groups`` that
    does not divide some layer's channels fails once, naming them all
    (:func:`set_group_norms`)."""

    def __init__(self, num_channels: int, num_groups: int, **kwargs):
        super().__init__(1, num_channels, **kwargs)
        self.groups_asked = num_groups


def slot_group_norms(norm_cfg: dict) -> dict:
    """``norm_cfg``, which builds :class:`GroupNormSlot` layers where it builds GroupNorm."""
    return dict(norm_cfg, type=GroupNormSlot) if is_group_norm(norm_cfg) else norm_cfg


def set_group_norms(model: nn.Module, norm_cfg: dict) -> None:
    """Replace each :class:`GroupNormSlot` of ``model`` by the GroupNorm asked for, or raise a
    ValueError that names ``norm_cfg``, the layers whose channels ``num_groups`` does not
    divide and the values that fit every layer."""
    slots = {name: m for name, m in model.named_modules() if isinstance(m, GroupNormSlot)}
    if not slots:
        return
    groups = norm_cfg['num_groups']
    channels = {name: m.num_channels for name, m in slots.items()}
    bad = [f'{name}: {c}' for name, c in channels.items() if c % groups]
    if bad:
        gcd = math.gcd(*channels.values())
        valid = [d for d in range(1, gcd + 1) if gcd % d == 0]
        raise ValueError(
            f'norm_cfg={norm_cfg!r} does not fit this {type(model).__name__}: GroupNorm needs '
            f'num_groups to divide the channels of every norm layer; num_groups={groups} does '
            f'not divide the channels of {len(bad)} of its {len(channels)} norm layers (e.g. '
            f'{", ".join(bad[:3])}); valid num_groups for this configuration: '
            f'{", ".join(map(str, valid))}')
    for name, slot in slots.items():
        parent, _, child = name.rpartition('.')
        norm = nn.GroupNorm(slot.groups_asked, slot.num_channels, slot.eps, slot.affine)
        if slot.affine:
            norm.requires_grad_(slot.weight.requires_grad)
        setattr(model.get_submodule(parent), child, norm)


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
        if isinstance(layer, str) and _registered(layer) is None:
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
                  f'checkpoint={pretrained!r}) instead', DeprecationWarning, stacklevel=4)
    return dict(type='Pretrained', checkpoint=pretrained)


def check_mmdet_arguments(cls, init_cfg, default_init_cfg, conv_cfg, what: str, dcn,
                          stage_with_dcn, plugins, style, num_stages, pretrained) -> dict:
    """mmdet's ResNet arguments, checked: the ``init_cfg`` to use (:func:`mmdet_resnet_init_cfg`)
    and the values the backbone keeps, ``dcn``, ``stage_with_dcn``, ``plugins``, ``style``
    and ``num_stages``; ``what`` is what one entry of ``stage_with_dcn`` stands for."""
    init_cfg = mmdet_resnet_init_cfg(cls, style, num_stages, pretrained, init_cfg,
                                     default_init_cfg)
    dcn, stage_with_dcn = check_dcn(dcn, stage_with_dcn, conv_cfg, what=what)
    return dict(init_cfg=init_cfg, dcn=dcn, stage_with_dcn=stage_with_dcn,
                plugins=check_plugins(plugins, what=what), style=style, num_stages=num_stages)


# -- inputs and norm layers, when the backbone runs -----------------------------------------
try:  # torch >= 2.4: autocast state per device type
    torch.is_autocast_enabled('cpu')
    _AUTOCAST_PER_DEVICE = True
except TypeError:
    _AUTOCAST_PER_DEVICE = False


def _autocast_enabled(device_type: str) -> bool:
    if _AUTOCAST_PER_DEVICE:
        return torch.is_autocast_enabled(device_type)
    return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


def check_input(model, x) -> None:
    """See :meth:`~mmfish.models.backbones.base.BackboneBase.check_input`."""
    name = type(model).__name__
    channels = model.in_channels
    if not isinstance(x, torch.Tensor):
        hint = (': stack the images into one (N, C, H, W) tensor'
                if isinstance(x, (list, tuple)) else '')
        raise TypeError(f'{name} expects a torch.Tensor of shape (N, {channels}, H, W), '
                        f'got a {type(x).__name__}{hint}')
    if x.dim() != 4:
        hint = ' (one image? add the batch dimension: x[None])' if x.dim() == 3 else ''
        raise ValueError(f'{name} expects a 4-D input (N, {channels}, H, W), got a '
                         f'{x.dim()}-D tensor of shape {tuple(x.shape)}{hint}')
    # TorchScript tracing (the legacy ONNX export) records sizes as tensors and warns when
    # they are compared: it traces with an example input, so skip the size checks there
    sizes = not torch.jit.is_tracing()
    if sizes and x.shape[1] != channels:
        hint = (' (channels last? use x.permute(0, 3, 1, 2))'
                if x.shape[3] == channels else '')
        raise ValueError(f'{name} was built with in_channels={channels}, but the input '
                         f'of shape {tuple(x.shape)} has {x.shape[1]} channels; expected '
                         f'(N, {channels}, H, W){hint}')
    if sizes and (x.shape[2] < model.min_size or x.shape[3] < model.min_size):
        raise ValueError(f'{name} needs inputs of at least {model.min_size}x{model.min_size} '
                         f'pixels (H, W >= min_size={model.min_size}), got H x W = '
                         f'{x.shape[2]}x{x.shape[3]} (input shape {tuple(x.shape)})')
    if not x.is_floating_point():
        raise TypeError(f'{name} got an input of dtype {x.dtype} (shape {tuple(x.shape)}): '
                        f'convert images to floating point with .float() and normalise '
                        f'them (subtract the mean, divide by the std, as a data '
                        f'preprocessor does) before the backbone')
    weight = next(model.parameters())
    if x.dtype != weight.dtype:
        autocast = _autocast_enabled(x.device.type)
        if not autocast or torch.float64 in (x.dtype, weight.dtype):
            raise TypeError(
                f'{name} got an input of dtype {x.dtype}, but its weights are '
                f'{weight.dtype}: convert the input (x.to({weight.dtype})) or the model '
                f'(model.to({x.dtype}))'
                + (' (autocast does not cast float64)' if autocast else
                   ', or run it under torch.autocast'))


ONE_VALUE = 'Expected more than 1 value per channel'


def _cannot_normalise(norm: nn.Module, shape: Sequence[int], training: bool) -> bool:
    """Whether PyTorch refuses ``norm`` an input of ``shape``: a BatchNorm that normalises
    with batch statistics (``training``) one value per channel, a GroupNorm one value per
    group."""
    values = shape[0] * math.prod(shape[2:])
    if isinstance(norm, nn.GroupNorm):
        return shape[1] == norm.num_channels and values * (shape[1] // norm.num_groups) == 1
    return training and shape[1] == norm.num_features and values == 1


class _Found(Exception):
    pass


def failing_norm(model: nn.Module, shape: Sequence[int], x=None) -> Optional[str]:
    """The name of the first norm layer of ``model`` that cannot normalise an input of
    ``shape``: the first that the forward pass on ``x`` reaches with one (run again without
    gradients, with the norm layers in eval mode so that no statistics change), or without
    ``x`` the first in the model's order."""
    norms = {m: name for name, m in model.named_modules()
             if isinstance(m, (_BatchNorm, nn.GroupNorm))}
    # as F.batch_norm: batch statistics in training, or without running statistics
    training = {m: m.training or getattr(m, 'running_mean', None) is None for m in norms}
    if x is None:
        return next((n for m, n in norms.items() if _cannot_normalise(m, shape, training[m])),
                    None)
    found = []

    def stop_at_the_failing_norm(norm, args):
        if tuple(args[0].shape) == tuple(shape) and _cannot_normalise(norm, shape,
                                                                       training[norm]):
            found.append(norms[norm])
            raise _Found

    handles = [m.register_forward_pre_hook(stop_at_the_failing_norm) for m in norms]
    modes = {m: m.training for m in norms}
    try:
        for m in norms:
            m.train(False)
        with torch.no_grad():
            for _ in model.forward_levels(model._enter(x)):
                pass
    except _Found:
        pass
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in modes.items():
            m.train(mode)
    return found[0] if found else None


def explain_norm_error(model: nn.Module, exc: ValueError, x=None) -> Optional[ValueError]:
    """See :meth:`~mmfish.models.backbones.base.BackboneBase.explain_norm_error`."""
    text = str(exc)
    size = re.search(r'got input size (?:torch\.Size\()?\[([\d, ]+)\]', text)
    if ONE_VALUE not in text or size is None:
        return None
    shape = [int(s) for s in size.group(1).split(',')]
    name = failing_norm(model, shape, x)
    if name is None:
        return None
    culprit = model.get_submodule(name)
    parent = model.get_submodule(name.rpartition('.')[0])
    explain = getattr(parent, 'explain_one_value_norm', None)
    cause = explain(name.rpartition('.')[2]) if explain is not None else None
    group_norm = isinstance(culprit, nn.GroupNorm)
    if cause is None and group_norm:
        channels, groups = culprit.num_channels, culprit.num_groups
        # the most groups that leave two or more channels each (0: one channel in all)
        fewer = max((d for d in range(1, channels // 2 + 1) if channels % d == 0), default=0)
        cause = (f'each of its {groups} groups holds one value: {channels} channels in '
                 f'{groups} groups (one channel per group), one image (batch 1) and a 1x1 '
                 'feature map at this layer')
        remedies = ('fewer groups, so that each holds two or more channels '
                    f"(norm_cfg=dict(type='GN', num_groups={fewer}): num_groups dividing "
                    f'{channels} and at most {channels // 2})'
                    if fewer else 'a norm layer other than GroupNorm')
        remedies += ', or larger inputs (a feature map larger than 1x1 here)'
    elif cause is None:
        cause = ('its input has one value per channel: one image (batch 1) whose feature '
                 'map is 1x1 at this layer')
        remedies = ('larger inputs, two or more images per GPU, SyncBN across GPUs '
                    "(norm_cfg=dict(type='SyncBN')) or GroupNorm (norm_cfg=dict(type='GN', "
                    'num_groups=...))')
    else:
        cause, remedies = cause
    where = '' if group_norm else ' in training'
    return ValueError(f'{type(model).__name__}: the norm layer {name} '
                      f'({type(culprit).__name__}) cannot normalise{where}: {cause}. '
                      f'Remedies: {remedies}. (PyTorch: {text})')
