"""Deciding the variant of a checkpoint, including what its weights cannot show.

The shapes of the weights give most backbone arguments (depth, widths, radix, stem, shortcut
style). A few leave no trace in them, e.g. ResNeSt's ``avd`` and ``avd_first`` (pools have no
weights): a family lists those in :attr:`~.family.Family.hidden`. They are decided, in this
order, by

1. ``--variant NAME``, or the name of a released file whose sha256 prefix was verified;
2. the command line (``--avd-first`` / ``--no-avd-first``, ...);
3. the checkpoint's own config, when an OpenMMLab runner saved one in its meta (read as text,
   never executed), or ``meta['mmfish']['backbone']`` in a file mmfish's converter wrote;
4. the checkpoint's key layout, where it fixes an argument (the family's ``detect`` returns a
   :class:`~.resnet_like.Detected` whose ``hidden`` says so: a toolbox's ResNeSt has no
   ``avd_first`` and always pools after the split-attention conv). A layout that two
   implementations share, which differ in the argument, says ``None``: then the table of
   released variants does not decide either (mmdet's and mmfish's Res2Net have the same keys,
   and only mmfish's pools the last split of layer1's first block);
5. the table of released variants, when every released variant with these shapes agrees.

Otherwise the conversion is refused with the candidates and the flags that pick one.

The type of mmdet's deformable convolutions is shown by their offset convs' channels, except
where ``DCN`` and ``DCNv2`` both fit (:func:`decide_dcn`): then ``--dcn-type``, else the
backbone's ``dcn`` in the checkpoint's own config decides, or the conversion is refused.
"""
import ast
import os.path as osp
from typing import Callable, Dict, List, Optional, Tuple

from ..checkpoint.io import ConversionError
from ..core.family import FAMILIES, Family, init_defaults, minimal
from ..core.layers.dcn import DCN_TYPES
from ..core.resnet_keymap import AmbiguousDcnError
from ..variants import VARIANTS, Variant

__all__ = ['find_variant', 'candidates', 'decide', 'released_variant', 'flag', 'decide_dcn',
           'dcn_from_config', 'hidden_from_mmfish_meta', 'flags', 'config_scope']


def find_variant(backbone: dict, fam: Family) -> Optional[str]:
    """The name of the published variant with exactly this backbone config, if any."""
    target = minimal(backbone, fam.model)
    return next((v.name for v in variants_of(fam) if minimal(v.backbone, fam.model) == target),
                None)


def hidden_values(backbone: dict, fam: Family) -> dict:
    """The values of the family's hidden arguments in ``backbone`` (defaults filled in)."""
    defaults = init_defaults(fam.model)
    return {k: backbone.get(k, defaults[k]) for k in fam.hidden}


def candidates(detected: dict, fam: Family) -> List[Variant]:
    """The released variants whose weights have the shapes of ``detected``."""
    def visible(cfg):
        return {k: v for k, v in minimal(cfg, fam.model).items() if k not in fam.hidden}

    target = visible(detected)
    return [v for v in variants_of(fam) if visible(v.backbone) == target]


def variants_of(fam: Family) -> List[Variant]:
    """The family's published variants in the table of released models."""
    return [v for v in VARIANTS.values() if v.backbone['type'] == fam.name]


def released_variant(path: str) -> Optional[Variant]:
    """The variant whose released file has this file's name, if any."""
    name = osp.basename(str(path))
    return next((v for v in VARIANTS.values() if name in v.files), None)


def flag(name: str, value) -> str:
    """The command-line flag that sets a hidden argument: ``--avd-first`` / ``--no-avd-first``
    for a boolean, ``--split-style mmdet`` for a value."""
    if isinstance(value, bool):
        return f'--{"" if value else "no-"}{name.replace("_", "-")}'
    return f'--{name.replace("_", "-")} {value}'


def flags(fam: Family, name: str) -> str:
    """The flags that set the hidden argument ``name`` of ``fam``, in words."""
    choices = fam.hidden_choices.get(name)
    if choices:
        return f'--{name.replace("_", "-")} {"|".join(choices)}'
    return f'{flag(name, True)}, {flag(name, False)}'


def _with_values(variant: Variant, fam: Family, names) -> str:
    """``name (argument=value, ...)`` of ``variant``'s hidden arguments ``names``."""
    values = hidden_values(variant.backbone, fam)
    return f'{variant.name} ({", ".join(f"{k}={values[k]}" for k in names)})'


def _config_calls(tree):
    """``(type, {argument: ast node})`` for every ``dict(type=...)`` / ``{'type': ...}``."""
    for node in ast.walk(tree):
        args = None
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'dict':
            args = {k.arg: k.value for k in node.keywords if k.arg}
        elif isinstance(node, ast.Dict):
            args = {k.value: v for k, v in zip(node.keys, node.values)
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        if args and isinstance(args.get('type'), ast.Constant) and \
                isinstance(args['type'].value, str):
            yield args['type'].value, args


def _config_text(rest: dict) -> Optional[str]:
    """The config text an OpenMMLab runner saved in the checkpoint's meta, if any."""
    meta = rest.get('meta') if isinstance(rest, dict) else None
    if isinstance(meta, dict):
        return next((meta[k] for k in ('cfg', 'config') if isinstance(meta.get(k), str)), None)
    return None


#: the toolboxes' scopes by the ``<name>_version`` their mmcv 1.x runners saved in the meta
_VERSION_SCOPES = {'mmdet_version': 'mmdet', 'mmseg_version': 'mmseg',
                   'mmpose_version': 'mmpose', 'mmcls_version': 'mmpretrain',
                   'mmpretrain_version': 'mmpretrain'}


def config_scope(rest: dict, tree) -> Optional[str]:
    """The toolbox whose registry the checkpoint's config builds in: its ``default_scope``
    (MMEngine configs), else the ``<toolbox>_version`` its mmcv 1.x runner saved in the meta
    (mmcls is mmpretrain's former name), else None."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'default_scope'
                                                for t in node.targets) and \
                isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return {'mmcls': 'mmpretrain'}.get(node.value.value, node.value.value)
    meta = rest.get('meta') if isinstance(rest, dict) else None
    if isinstance(meta, dict):
        return next((scope for key, scope in _VERSION_SCOPES.items() if key in meta), None)
    return None


def _family_config(rest: dict, fam: Family) -> Optional[Tuple[str, dict]]:
    """``(type, {argument: ast node})`` of the first ``dict`` in the checkpoint's config whose
    ``type`` names the family (any scope), or None (no config, or none builds the family). An
    unscoped type is given the config's toolbox (:func:`config_scope`) where it tells one."""
    text = _config_text(rest)
    if not text:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    found = next(((type_, args) for type_, args in _config_calls(tree)
                  if type_.split('.')[-1] == fam.name), None)
    if found is not None and '.' not in found[0]:
        scope = config_scope(rest, tree)
        if scope is not None:
            found = (f'{scope}.{found[0]}', found[1])
    return found


def _literal(node):
    """``ast.literal_eval`` that also reads ``dict(key=value, ...)`` calls, as MMEngine writes
    nested dicts in a config's text; ValueError for anything else."""
    if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'dict' and \
            not node.args and all(k.arg for k in node.keywords):
        return {k.arg: _literal(k.value) for k in node.keywords}
    return ast.literal_eval(node)


def hidden_from_config(rest: dict, fam: Family, names) -> Dict[str, Tuple[bool, str]]:
    """The hidden arguments ``names`` as the checkpoint's own config states them.

    MMEngine runners save the config text in ``meta['cfg']`` (mmdet 2.x and mmcv runners in
    ``meta['config']``). It is parsed, never executed: the backbone is the ``dict`` whose
    ``type`` names the family, and the family (:attr:`~.family.Family.from_config`) reads it,
    since the toolboxes' own classes of a family may name or fix these arguments differently."""
    found = _family_config(rest, fam)
    if found is None:
        return {}
    type_, args = found
    constants = {}
    for key, node in args.items():
        try:
            constants[key] = _literal(node)
        except ValueError:
            pass
    return {k: v for k, v in fam.from_config(type_, constants).items() if k in names}


def hidden_from_mmfish_meta(rest: dict, fam: Family, names) -> Dict[str, Tuple[bool, str]]:
    """The hidden arguments ``names`` of a file that mmfish's converter wrote: its
    ``meta['mmfish']['backbone']`` (arguments at their defaults left out) states them."""
    meta = rest.get('meta') if isinstance(rest, dict) else None
    record = meta.get('mmfish') if isinstance(meta, dict) else None
    backbone = record.get('backbone') if isinstance(record, dict) else None
    if not isinstance(backbone, dict) or backbone.get('type') != fam.name:
        return {}
    values = hidden_values(backbone, fam)
    return {k: (values[k], f"meta['mmfish']['backbone'] (the file is mmfish's conversion"
                           f"{'' if k in backbone else ', which leaves it at its default'})")
            for k in names}


# -- the type of mmdet's deformable convolutions ---------------------------------------------
DCN_FLAG = '--dcn-type'


def dcn_from_config(rest: dict, fam: Family) -> Optional[dict]:
    """The backbone's ``dcn`` as the checkpoint's own config states it (``dict(type=...,
    deform_groups=...)``, read as text, never executed), or None."""
    found = _family_config(rest, fam)
    if found is None or 'dcn' not in found[1]:
        return None
    try:
        dcn = _literal(found[1]['dcn'])
    except (ValueError, TypeError, SyntaxError):
        return None
    return dcn if isinstance(dcn, dict) else None


def decide_dcn(fam: Family, detect: Callable[[Optional[str]], dict], source: str, rest: dict,
               dcn_type: Optional[str] = None) -> Tuple[dict, dict]:
    """The backbone config detected from the weights, with the type of its deformable
    convolutions decided where the offset convs fit both ``DCN`` and ``DCNv2``; and the
    decision (``{'dcn_type': {'value': ..., 'by': ...}}``, empty when the weights showed it).

    ``detect(dcn_type)`` is the family's detection. The type is decided, in this order, by
    ``dcn_type`` (``--dcn-type``), then by the backbone's ``dcn`` in the checkpoint's own
    config (its ``type`` must be one of the fits and its ``deform_groups``, default 1, the
    groups that type gives); otherwise the conversion is refused with both candidates and the
    flag. A ``dcn_type`` the weights contradict, or given for weights without deformable
    convolutions, is refused."""
    if dcn_type is not None and dcn_type not in DCN_TYPES:
        raise ConversionError(f'{source}: {DCN_FLAG} {dcn_type!r} is not a deformable '
                              f'convolution type; valid: {", ".join(DCN_TYPES)}')
    if dcn_type is not None and not fam.dcn:
        names = [f.name for f in FAMILIES.values() if f.dcn]
        raise ConversionError(f'{source}: {DCN_FLAG} applies to {" and ".join(names)} '
                              f'checkpoints with deformable convolutions; a {fam.name} '
                              f'checkpoint has none')
    pick = ' or '.join(f'{DCN_FLAG} {t}' for t in DCN_TYPES)
    try:
        detected = detect(None)
    except AmbiguousDcnError as exc:
        if dcn_type is not None:
            return detect(dcn_type), {'dcn_type': dict(value=dcn_type, by='command line')}
        dcn = dcn_from_config(rest, fam)
        if dcn is None:
            raise ConversionError(f"{exc}, and the checkpoint's meta holds no config that "
                                  f"sets the backbone's dcn: pick one with {pick}") from None
        fit = next((f for f in exc.fits if f == (dcn.get('type'), dcn.get('deform_groups', 1))),
                   None)
        if fit is None:
            said = f"dict(type={dcn.get('type')!r}, deform_groups={dcn.get('deform_groups', 1)})"
            raise ConversionError(f"{exc}; the checkpoint's config (meta) has dcn={said}, which "
                                  f'is neither, so it does not describe these weights: pick '
                                  f'one with {pick}') from None
        by = (f"dcn=dict(type={fit[0]!r}, deform_groups={fit[1]}) in the checkpoint's config "
              f'(meta)')
        return detect(fit[0]), {'dcn_type': dict(value=fit[0], by=by)}
    if dcn_type is not None:
        shown = detected.get('dcn')
        if shown is None:
            raise ConversionError(f'{source}: {DCN_FLAG} {dcn_type}: the checkpoint has no '
                                  f'deformable convolutions (no conv_offset weights); leave '
                                  f'the flag out')
        if shown['type'] != dcn_type:
            raise ConversionError(
                f"{source}: {DCN_FLAG} {dcn_type} contradicts the weights: their offset convs "
                f"fit only type={shown['type']!r} with deform_groups={shown['deform_groups']}")
    return detected, {}


def decide(fam: Family, detected: dict, source: str, rest: dict, variant: Optional[str] = None,
           settings: Optional[dict] = None, released: Optional[Variant] = None,
           released_by: str = '') -> Tuple[dict, Optional[str], dict]:
    """The backbone config (``detected`` plus the hidden arguments), the variant's name (None
    for a config no released variant has) and the decisions: ``{argument: {'value': ...,
    'by': ...}}`` for every hidden argument, and ``'variant'`` when a name picked it.

    A config that no released variant has is refused where the family's ``check_custom``
    finds it implausible (Res2Net: a stem no Res2Net has)."""
    hidden = fam.hidden
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(hidden))
    if unknown:
        raise ConversionError(f'{source}: {", ".join(unknown)} cannot be set for a '
                              f'{fam.name} checkpoint: its weights show them')
    fits = candidates(detected, fam)
    names = ', '.join(v.name for v in fits) or f'none (backbone {minimal(detected, fam.model)})'
    decisions = {}
    chosen, by = None, ''
    if variant is not None:
        family_names = [v.name for v in variants_of(fam)]
        if variant not in family_names:
            raise ConversionError(f'{source}: --variant {variant} is not a released '
                                  f'{fam.name} variant; valid: {", ".join(family_names)}')
        chosen, by = VARIANTS[variant], f'--variant {variant}'
    elif released is not None:
        chosen, by = released, released_by
    if chosen is not None:
        if chosen not in fits:
            raise ConversionError(
                f'{source}: {by} names {chosen.name}, but the weights have the shapes of '
                f'another model; the released variants with these shapes: {names}')
        values = hidden_values(chosen.backbone, fam)
        clash = {k: v for k, v in settings.items() if values[k] != v}
        if clash:
            raise ConversionError(
                f'{source}: {" ".join(flag(k, v) for k, v in clash.items())} contradicts '
                f'{chosen.name} ({", ".join(f"{k}={values[k]}" for k in clash)}), which {by} '
                f'picked')
        decisions['variant'] = dict(value=chosen.name, by=by)
        decisions.update({k: dict(value=values[k], by=f'{chosen.name}, picked by {by}')
                          for k in hidden})
        return dict(detected, **values), chosen.name, decisions

    values = {k: dict(value=v, by='command line') for k, v in settings.items()}
    missing = [k for k in hidden if k not in values]
    shared = {}  # arguments whose layout two implementations share that differ in them
    # then the checkpoint's own config, mmfish's record of a converted file, the key layout
    for found in (lambda: hidden_from_config(rest, fam, missing),
                  lambda: hidden_from_mmfish_meta(rest, fam, missing),
                  lambda: getattr(detected, 'hidden', {})):
        if not missing:
            break
        for k, (value, how) in found().items():
            if k in missing and value is None:
                shared[k] = how
            elif k in missing:
                values[k] = dict(value=value, by=how)
        missing = [k for k in hidden if k not in values]
    consistent = [v for v in fits if all(hidden_values(v.backbone, fam)[k] == d['value']
                                         for k, d in values.items())]
    undecided = []
    for k in missing:
        if k in shared:  # the released variants are not the ones this layout can be
            undecided.append(k)
            continue
        # the released variants with these shapes (and the values set so far) decide what
        # they all agree on; without any, a value shared by every released variant does
        pool = consistent or [v for v in variants_of(fam)
                              if all(hidden_values(v.backbone, fam)[n] == d['value']
                                     for n, d in values.items())]
        options = {hidden_values(v.backbone, fam)[k] for v in pool}
        if len(options) != 1:
            undecided.append(k)
            continue
        value = next(iter(options))
        if consistent:
            names = ', '.join(v.name for v in consistent)
            by = (f'the table of released variants: {names} (the only '
                  f'{"ones" if len(consistent) > 1 else "one"} with these shapes)')
        else:
            by = (f'the table of released variants: no released variant has these shapes, '
                  f'and every released {fam.name} has {k}={value}')
        values[k] = dict(value=value, by=by)
    if undecided:
        raise ConversionError(_refusal(fam, source, detected, consistent, undecided, values,
                                       shared))
    cfg = dict(detected, **{k: d['value'] for k, d in values.items()})
    name = find_variant(cfg, fam)
    if name is None:  # a config no released variant has
        fam.check_custom(cfg, source, variants_of(fam))
    return cfg, name, values


def _refusal(fam: Family, source, detected, consistent, missing, values, shared) -> str:
    how = ' / '.join(flags(fam, k) for k in missing)
    what = ', '.join(missing)
    if any(k in shared for k in missing):
        said = '; '.join(shared[k] for k in missing if k in shared)
        return (f'{source}: the weights cannot show {what}, and the file does not tell it: '
                f'{said}; the file has no config in its meta that says it (one that an '
                f'OpenMMLab runner saved), and no --variant applies: say it with {how}')
    if consistent:
        listed = '; '.join(_with_values(v, fam, missing) for v in consistent)
        picks = ' or '.join(f'--variant {v.name}' for v in consistent)
        return (f'{source}: the weights fit {len(consistent)} released {fam.name} variants '
                f'that differ in what weights cannot show ({what}): {listed}. Nothing in the '
                f'file tells them apart (no released file name with a verified hash, no config '
                f'in its meta): pick one with {picks} (or set {how}).')
    given = ''.join(f', {k}={d["value"]}' for k, d in values.items())
    return (f'{source}: no released {fam.name} variant has these weights\' shapes '
            f'(backbone {minimal(detected, fam.model)}{given}), and the weights cannot show '
            f'{what}: say {"it" if len(missing) == 1 else "them"} with {how}')
