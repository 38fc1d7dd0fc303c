"""Deciding the variant of a checkpoint, including what its weights cannot show.

The shapes of the weights give most backbone arguments (depth, widths, radix, stem, shortcut
style). A few leave no trace in them, e.g. ResNeSt's ``avd`` and ``avd_first`` (pools have no
weights): a converter module lists those in ``HIDDEN``. They are decided, in this order, by

1. ``--variant NAME``, or the name of a released file whose sha256 prefix was verified;
2. the command line (``--avd-first`` / ``--no-avd-first``, ...);
3. the checkpoint's own config, when an OpenMMLab runner saved one in its meta (read as text,
   never executed);
4. the table of released variants, when every released variant with these shapes agrees.

Otherwise the conversion is refused with the candidates and the flags that pick one.
"""
import ast
import inspect
import os.path as osp
from typing import Dict, Optional, Tuple

from ..checkpoint.io import ConversionError
from ..variants import VARIANTS, Variant

__all__ = ['init_defaults', 'minimal', 'find_variant', 'candidates', 'decide', 'released_variant',
           'flag']


def init_defaults(cls) -> dict:
    """The default of every ``__init__`` argument of ``cls`` and its bases."""
    defaults = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        for name, p in inspect.signature(init).parameters.items():
            if p.default is not inspect.Parameter.empty:
                defaults[name] = p.default
    return defaults


def minimal(cfg: dict, cls) -> dict:
    """``cfg`` without ``type`` and without the arguments that equal the class defaults."""
    defaults = init_defaults(cls)
    return {k: v for k, v in cfg.items()
            if k != 'type' and (k == 'depth' or defaults.get(k, object()) != v)}


def _family_variants(fam):
    return [v for v in VARIANTS.values() if v.backbone['type'] == fam.FAMILY]


def find_variant(backbone: dict, fam) -> Optional[str]:
    """The name of the published variant with exactly this backbone config, if any."""
    target = minimal(backbone, fam.MODEL)
    return next((v.name for v in _family_variants(fam)
                 if minimal(v.backbone, fam.MODEL) == target), None)


def hidden_values(backbone: dict, fam) -> dict:
    """The values of the family's hidden arguments in ``backbone`` (defaults filled in)."""
    defaults = init_defaults(fam.MODEL)
    return {k: backbone.get(k, defaults[k]) for k in getattr(fam, 'HIDDEN', ())}


def candidates(detected: dict, fam):
    """The released variants whose weights have the shapes of ``detected``."""
    hidden = getattr(fam, 'HIDDEN', ())

    def visible(cfg):
        return {k: v for k, v in minimal(cfg, fam.MODEL).items() if k not in hidden}

    target = visible(detected)
    return [v for v in _family_variants(fam) if visible(v.backbone) == target]


def released_variant(path: str) -> Optional[Variant]:
    """The variant whose released file has this file's name, if any."""
    name = osp.basename(str(path))
    return next((v for v in VARIANTS.values() if name in v.files), None)


def flag(name: str, value: bool) -> str:
    """The command-line flag that sets a hidden boolean argument."""
    return f'--{"" if value else "no-"}{name.replace("_", "-")}'


def _describe(variant: Variant, fam, names) -> str:
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


def hidden_from_config(rest: dict, fam, names) -> Dict[str, Tuple[bool, str]]:
    """The hidden arguments ``names`` as the checkpoint's own config states them.

    MMEngine runners save the config text in ``meta['cfg']`` (mmdet 2.x and mmcv runners in
    ``meta['config']``). It is parsed, never executed: the backbone is the ``dict`` whose
    ``type`` names the family, and the family's converter (``from_config``) reads it, since
    the toolboxes' own classes of a family may name or fix these arguments differently."""
    meta = rest.get('meta') if isinstance(rest, dict) else None
    text = None
    if isinstance(meta, dict):
        text = next((meta[k] for k in ('cfg', 'config') if isinstance(meta.get(k), str)), None)
    if not text or not hasattr(fam, 'from_config'):
        return {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    for type_, args in _config_calls(tree):
        if type_.split('.')[-1] != fam.FAMILY:
            continue
        constants = {}
        for key, node in args.items():
            try:
                constants[key] = ast.literal_eval(node)
            except ValueError:
                pass
        found = fam.from_config(type_, constants)
        return {k: v for k, v in found.items() if k in names}
    return {}


def decide(fam, detected: dict, source: str, rest: dict, variant: Optional[str] = None,
           settings: Optional[dict] = None, released: Optional[Variant] = None,
           released_by: str = '') -> Tuple[dict, Optional[str], dict]:
    """The backbone config (``detected`` plus the hidden arguments), the variant's name (None
    for a config no released variant has) and the decisions: ``{argument: {'value': ...,
    'by': ...}}`` for every hidden argument, and ``'variant'`` when a name picked it."""
    hidden = tuple(getattr(fam, 'HIDDEN', ()))
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(hidden))
    if unknown:
        raise ConversionError(f'{source}: {", ".join(unknown)} cannot be set for a '
                              f'{fam.FAMILY} checkpoint: its weights show them')
    fits = candidates(detected, fam)
    names = ', '.join(v.name for v in fits) or f'none (backbone {minimal(detected, fam.MODEL)})'
    decisions = {}
    chosen, by = None, ''
    if variant is not None:
        family_names = [v.name for v in _family_variants(fam)]
        if variant not in family_names:
            raise ConversionError(f'{source}: --variant {variant} is not a released '
                                  f'{fam.FAMILY} variant; valid: {", ".join(family_names)}')
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
    if missing:
        for k, (value, how) in hidden_from_config(rest, fam, missing).items():
            values[k] = dict(value=value, by=how)
        missing = [k for k in hidden if k not in values]
    consistent = [v for v in fits if all(hidden_values(v.backbone, fam)[k] == d['value']
                                         for k, d in values.items())]
    undecided = []
    for k in missing:
        # the released variants with these shapes (and the values set so far) decide what
        # they all agree on; without any, a value shared by every released variant does
        pool = consistent or [v for v in _family_variants(fam)
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
                  f'and every released {fam.FAMILY} has {k}={value}')
        values[k] = dict(value=value, by=by)
    if undecided:
        raise ConversionError(_refusal(fam, source, detected, consistent, undecided, values))
    cfg = dict(detected, **{k: d['value'] for k, d in values.items()})
    return cfg, find_variant(cfg, fam), values


def _refusal(fam, source, detected, consistent, missing, values) -> str:
    flags = ' / '.join(f'{flag(k, True)}, {flag(k, False)}' for k in missing)
    what = ', '.join(missing)
    if consistent:
        listed = '; '.join(_describe(v, fam, missing) for v in consistent)
        picks = ' or '.join(f'--variant {v.name}' for v in consistent)
        return (f'{source}: the weights fit {len(consistent)} released {fam.FAMILY} variants '
                f'that differ in what weights cannot show ({what}): {listed}. Nothing in the '
                f'file tells them apart (no released file name with a verified hash, no config '
                f'in its meta): pick one with {picks} (or set {flags}).')
    given = ''.join(f', {k}={d["value"]}' for k, d in values.items())
    return (f'{source}: no released {fam.FAMILY} variant has these weights\' shapes '
            f'(backbone {minimal(detected, fam.MODEL)}{given}), and the weights cannot show '
            f'{what}: say {"it" if len(missing) == 1 else "them"} with {flags}')
