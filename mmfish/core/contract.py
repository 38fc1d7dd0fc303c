"""The arguments a backbone takes: unknown names refused with the closest valid one, and mmdet's
ResNet contract (``dcn``, ``stage_with_dcn``, ``plugins``, ``style``, ``num_stages`` and the
deprecated ``pretrained``), which the backbones with ``mmdet_contract`` take and the others
refuse naming those that take it."""
import warnings
from typing import Iterable, Sequence

from ..suggest import closest
from .checks import NUM_LEVELS, check_bool, check_int, is_int, registered_layer
from .family import FAMILIES
from .layers.dcn import DCN_TYPES
from .layers.plugins import POSITIONS

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
    """The names of the registered families' backbones that take mmdet's ResNet arguments
    (``mmdet_contract``)."""
    return tuple(f.model.__name__ for f in FAMILIES.values() if f.model.mmdet_contract)


def __getattr__(name):  # PEP 562: MMDET_CONTRACT_BACKBONES, once the backbones are defined
    if name == 'MMDET_CONTRACT_BACKBONES':
        return mmdet_contract_backbones()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

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
        close = closest(name, valid)
        problems.append(f'{name!r}' + (f' (did you mean {close!r}?)' if close else ''))
    raise ValueError(f'{cls.__name__} got unknown argument{"s" if len(names) > 1 else ""} '
                     + ', '.join(problems) + f'; valid arguments: {", ".join(valid)}')

# -- mmdet's ResNet contract: dcn, stage_with_dcn, plugins, style, num_stages, pretrained -----
def check_dcn(dcn, stage_with_dcn, conv_cfg, num: int = NUM_LEVELS, what: str = 'stage'):
    """``dcn`` (None or a dict such as ``dict(type='DCNv2', deform_groups=1,
    fallback_on_stride=False)``) and ``stage_with_dcn`` (``num`` bools); returns them, the
    latter as a tuple. As in mmdet, ``stage_with_dcn`` is ignored without ``dcn``."""
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
        if isinstance(layer, str) and registered_layer(layer) is None:
            raise ValueError(f'{where}: unknown plugin layer type {layer!r}; e.g. '
                             f'ContextBlock, GeneralizedAttention, NonLocal2d (mmcv)')
        checked.append(dict(cfg=dict(plugin['cfg']), position=plugin['position'],
                            stages=stages))
    return checked


def mmdet_resnet_init_cfg(cls, style, num_stages, pretrained, init_cfg, default_init_cfg):
    """Check ``style`` and ``num_stages`` as mmdet's ResNet takes them and map the deprecated
    ``pretrained=PATH`` to ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` with a
    DeprecationWarning, as mmdet does; returns the ``init_cfg`` to use."""
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
