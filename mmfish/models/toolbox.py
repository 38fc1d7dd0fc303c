"""Switching a toolbox config's backbone to mmfish's: ResNeSt's or Res2Net's, any registered
family that names the toolboxes that have it (:attr:`~mmfish.core.family.Family.toolboxes`).

The toolboxes' own classes take most of mmfish's arguments under the same names, but some of
their defaults differ from mmfish's, some arguments have other names, and mmdet's Res2Net fixes
its stem whatever the config says. :func:`from_toolbox` rewrites a backbone config of mmdet,
mmseg, mmpretrain or mmpose so that ``mmfish.ResNeSt`` / ``mmfish.Res2Net`` builds the network
the toolbox builds from it:

- ``type``: ``'mmfish.ResNeSt'`` / ``'mmfish.Res2Net'``;
- the toolbox's defaults that differ from mmfish's are written out: ``out_indices`` (all four
  levels in mmdet and mmseg, the last one in mmpretrain and mmpose), ``norm_eval`` (True in
  mmdet), ``stem_channels`` (mmdet: ``base_channels``) and ``contract_dilation`` (False: only
  mmseg contracts, and only when asked);
- the family's own part (:attr:`~mmfish.core.family.Family.toolbox_args`): ResNeSt's
  (:mod:`mmfish.families.resnest.toolbox`: ``avg_down_stride``, the bottleneck width) and
  Res2Net's (:mod:`mmfish.families.res2net.toolbox`: mmdet's fixed v1b stem and split style).

Everything else (``depth``, ``radix``, ``scales``, ``strides``, ``dilations``, ``norm_cfg``,
``frozen_stages``, ``dcn``, ``stage_with_dcn``, ``plugins``, ``init_cfg``, ...) is kept as
it is. Arguments mmfish has no counterpart for (mmseg's ``multi_grid``, mmpretrain's
``drop_path_rate``) raise a ValueError unless they are at their no-op value.
"""
import copy
from typing import Optional

from ..core.family import FAMILIES
from ..core.toolbox import TOOLBOXES

__all__ = ['TOOLBOXES', 'from_toolbox']

#: the toolbox's default ``out_indices`` (mmfish's: all four levels)
_OUT_INDICES = {'mmdet': (0, 1, 2, 3), 'mmseg': (0, 1, 2, 3), 'mmpretrain': (3, ),
                'mmpose': (3, )}
#: arguments of a toolbox without an mmfish counterpart, and the values that change nothing
_NO_OP = {'mmseg': dict(multi_grid=(None, )),
          'mmpretrain': dict(drop_path_rate=(0, ), expansion=(None, 4)),
          'mmpose': dict(expansion=(None, 4))}


def _split_type(backbone: dict, toolbox: Optional[str]):
    type_ = backbone.get('type')
    if not isinstance(type_, str):
        raise ValueError(f'the backbone config has no type name: {backbone!r}')
    scope, _, name = type_.rpartition('.')
    if scope and toolbox is not None and scope != toolbox:
        raise ValueError(f'{type_!r} is a {scope} type, not a {toolbox} one')
    toolbox = toolbox or scope or None
    if toolbox is None:
        raise ValueError(f'{type_!r} names no toolbox: pass toolbox= (one of '
                         f'{", ".join(TOOLBOXES)})')
    return toolbox, name


def _families() -> dict:
    """The registered families that some toolbox has, by backbone type."""
    return {f.name: f for f in FAMILIES.values() if f.toolboxes}


def from_toolbox(backbone: dict, toolbox: Optional[str] = None) -> dict:
    """The mmfish backbone config that builds what ``backbone`` builds in ``toolbox``.

    Args:
        backbone (dict): A ResNeSt or Res2Net backbone config of the toolbox, or another
            registered family's (``type`` ``'ResNeSt'``, ``'Res2Net'``, or scoped:
            ``'mmdet.Res2Net'``). An mmfish config (``'mmfish.ResNeSt'``) is returned
            unchanged.
        toolbox (str, optional): ``'mmdet'``, ``'mmseg'``, ``'mmpretrain'`` or ``'mmpose'``:
            the toolbox whose class the config builds. Defaults to None (the scope of a scoped
            ``type``).

    Returns:
        dict: A new config (``backbone`` is not changed) with ``type`` ``'mmfish.ResNeSt'``
        or ``'mmfish.Res2Net'``.

    Example:
        >>> from mmfish.models.toolbox import from_toolbox
        >>> from_toolbox(dict(type='Res2Net', depth=101, scales=4, base_width=26), 'mmdet')
        ... # doctest: +NORMALIZE_WHITESPACE
        {'type': 'mmfish.Res2Net', 'depth': 101, 'scales': 4, 'base_width': 26,
         'out_indices': (0, 1, 2, 3), 'norm_eval': True, 'deep_stem': True, 'avg_down': True,
         'split_style': 'mmdet', 'contract_dilation': False}
    """
    cfg = copy.deepcopy(dict(backbone))
    if str(cfg.get('type', '')).startswith('mmfish.'):
        return cfg
    toolbox, family = _split_type(cfg, toolbox)
    if toolbox not in TOOLBOXES:
        raise ValueError(f'unknown toolbox {toolbox!r}; valid: {", ".join(TOOLBOXES)}')
    families = _families()
    if family not in families:
        raise ValueError(f'{cfg["type"]!r} is not a {" or ".join(families)} backbone')
    if toolbox not in families[family].toolboxes:
        raise ValueError(f'{toolbox} has no {family}; '
                         f'{", ".join(families[family].toolboxes)} have')
    for name, no_op in _NO_OP.get(toolbox, {}).items():
        if cfg.pop(name, no_op[0]) not in no_op:
            raise ValueError(f'{name}={backbone[name]!r}: mmfish\'s {family} has no '
                             f'counterpart of {toolbox}\'s {name} (valid: '
                             f'{" or ".join(map(repr, no_op))})')
    cfg['type'] = f'mmfish.{family}'
    cfg.setdefault('out_indices', _OUT_INDICES[toolbox])
    base_channels = cfg.get('base_channels', 64)
    if toolbox == 'mmdet':
        cfg.setdefault('norm_eval', True)
        if cfg.get('stem_channels') is None:  # mmdet's ResNet: the stem has base_channels
            cfg['stem_channels'] = base_channels
            if base_channels == 64:
                del cfg['stem_channels']
    families[family].toolbox_args(cfg, toolbox, base_channels)
    if toolbox != 'mmseg':  # no contraction of the first dilation outside mmseg
        cfg['contract_dilation'] = False
    else:
        cfg.setdefault('contract_dilation', False)
    return cfg
