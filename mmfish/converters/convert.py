"""Converting a checkpoint: read it, detect its family and variant, check every tensor
against the model it describes, write it atomically; and the command line."""
import inspect
import os
from typing import Callable, Optional

from ..checkpoint.diff import check_values
from ..checkpoint.families import converter_hint, guess_family
from ..checkpoint.io import ConversionError, check_destination, load_state_dict, save_atomic
from ..models.necks import FishScore
from ..variants import VARIANTS, classifier_parts
from .common import check_family, check_keys, expected_state, fill_counters
from .families import FAMILIES

__all__ = ['convert_checkpoint', 'detect_family', 'find_variant', 'main']


def _init_defaults(cls) -> dict:
    defaults = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        for name, p in inspect.signature(init).parameters.items():
            if p.default is not inspect.Parameter.empty:
                defaults[name] = p.default
    return defaults


def _minimal(cfg: dict, cls) -> dict:
    """``cfg`` without the arguments that equal the class defaults."""
    defaults = _init_defaults(cls)
    return {k: v for k, v in cfg.items() if k == 'depth' or defaults.get(k, object()) != v}


def find_variant(backbone: dict) -> Optional[str]:
    """The name of the published variant with this backbone config, if any."""
    fam = next((f for f in FAMILIES.values() if f.FAMILY == backbone.get('type')), None)
    if fam is None:
        return None
    target = _minimal({k: v for k, v in backbone.items() if k != 'type'}, fam.MODEL)
    for name, variant in VARIANTS.items():
        ref = dict(variant.backbone)
        if ref.pop('type') == fam.FAMILY and _minimal(ref, fam.MODEL) == target:
            return name
    return None


def _detect(fam, state, source):
    """Rename to mmfish keys and detect the variant; a key that detection needs but the
    checkpoint lacks is a ConversionError naming it."""
    try:
        state, layout, dropped = fam.to_mmfish_keys(state, source)
        return state, layout, dropped, fam.detect(state, source)
    except KeyError as exc:
        key = exc.args[0] if exc.args else '?'
        raise ConversionError(
            f'{source}: the checkpoint lacks {key!r}, which every {fam.FAMILY} checkpoint has '
            f'(it tells the variant): the file holds part of a model, or another kind of '
            f'model') from None


def convert_checkpoint(family: Optional[str], src: str, dst: str,
                       log: Callable[[str], None] = print) -> dict:
    """Convert ``src`` to an mmfish checkpoint at ``dst``; return the written ``meta``.

    ``family`` is ``'fishnet'``, ``'res2net'``, ``'resnest'`` or None (detected from the
    keys: :func:`detect_family`)."""
    if family is not None and family not in FAMILIES:
        raise ConversionError(f'unknown family {family!r}; valid: {", ".join(FAMILIES)}')
    check_destination(dst, src, ConversionError, log)
    log(f'reading {src}')
    state, _ = load_state_dict(src)
    if family is None:
        family = detect_family(state, src)
        log(f'family: {FAMILIES[family].FAMILY} (detected from the keys)')
    fam = FAMILIES[family]
    check_family(state, fam.FAMILY, src)
    state, layout, dropped, detected = _detect(fam, state, src)
    cfg = _minimal(detected, fam.MODEL)
    backbone = dict(type=fam.FAMILY, **cfg)
    log(f'layout: {layout}; backbone: {backbone}')

    backbone_state = {k[len('backbone.'):]: v for k, v in state.items()
                      if k.startswith('backbone.')}
    expected = expected_state(lambda: fam.MODEL(**cfg))
    check_keys(backbone_state, expected, fam.FAMILY, src, f'{fam.FAMILY} backbone {cfg}')
    filled = fill_counters(state, expected, prefix='backbone.')
    parts = classifier_parts(backbone)
    neck_state = {k[len('neck.'):]: v for k, v in state.items() if k.startswith('neck.')}
    head_keys = sorted(k for k in state if k.startswith('head.'))
    num_classes = None
    if head_keys:
        if head_keys != ['head.fc.bias', 'head.fc.weight']:
            missing = sorted({'head.fc.bias', 'head.fc.weight'} - set(head_keys))
            raise ConversionError(
                f'{src}: the classifier (official fc.*) is incomplete or unknown: it has '
                f'{", ".join(head_keys)}' + (f' and lacks {", ".join(missing)}' if missing else '')
                + '; a classifier checkpoint has exactly fc.weight and fc.bias')
        weight, bias = state['head.fc.weight'], state['head.fc.bias']
        num_classes = weight.shape[0]
        if weight.dim() != 2 or weight.shape[1] != parts['head_in_channels'] or \
                tuple(bias.shape) != (num_classes, ):
            raise ConversionError(
                f'{src}: the classifier fc.weight {tuple(weight.shape)} / fc.bias '
                f'{tuple(bias.shape)} does not fit the backbone: expected ({num_classes}, '
                f'{parts["head_in_channels"]}) and ({num_classes}, )')
        if fam.FAMILY == 'FishNet':
            neck = expected_state(lambda: FishScore(parts['neck']['in_channels'], pool=True))
            check_keys(neck_state, neck, fam.FAMILY, src, 'FishNet classifier neck')
            filled += fill_counters(state, neck, prefix='neck.')
    elif neck_state:
        raise ConversionError(f'{src}: neck weights without a classifier: '
                              f'{sorted(neck_state)[:5]}')
    check_values(state, src, ConversionError)
    if filled:
        log(f'the checkpoint has no BatchNorm num_batches_tracked counters (saved by PyTorch '
            f'< 0.4.1): {len(filled)} filled with 0 (they do not change what the model '
            f'computes)')
    if dropped:
        log(f'not part of the backbone or classifier, left out: {len(dropped)} keys '
            f'({", ".join(sorted({k.split(".")[0] for k in dropped}))})')
    variant = find_variant(backbone)
    meta = dict(mmfish=dict(family=fam.FAMILY, variant=variant, backbone=backbone,
                            num_classes=num_classes, layout=layout,
                            source=os.path.basename(src),
                            config=VARIANTS[variant].config if variant else None))
    if getattr(fam, 'NOTE', None):
        meta['mmfish']['note'] = fam.NOTE
    save_atomic(dict(meta=meta, state_dict=state), dst)
    what = 'classifier' if num_classes else 'backbone only (use it with init_cfg Pretrained, ' \
                                            "prefix='backbone.')"
    log(f'variant: {variant or "custom"}; {len(state)} tensors, {what}'
        + (f', {num_classes} classes' if num_classes else ''))
    if variant:
        log(f'config: {VARIANTS[variant].config}')
    log(f'wrote {dst}')
    return meta


def detect_family(state: dict, src: str) -> str:
    """The converter family (``'fishnet'``, ``'res2net'`` or ``'resnest'``) of a checkpoint's
    state dict, from its keys; a ConversionError when they show none of the three."""
    guessed = guess_family(state)
    if guessed in [f.FAMILY for f in FAMILIES.values()]:
        return guessed.lower()
    if guessed == 'ResNet':
        raise ConversionError(f'{src}: {converter_hint("ResNet")}')
    examples = ', '.join(list(state)[:5])
    raise ConversionError(
        f'{src}: its keys ({examples}, ...) show none of the families mmfish converts '
        f'(FishNet: fish.fish.*, bridge.*; Res2Net: *.convs.0.*; ResNeSt: *.conv2.fc1.*): '
        f'if it is one of them in a layout mmfish does not know, force the family with '
        f'--family {{{",".join(FAMILIES)}}} to see which keys do not fit')


def main(family: Optional[str] = None, argv=None) -> int:
    """Command line of ``python -m mmfish.convert`` (and of the
    ``tools/model_converters/<family>2mmfish.py`` wrappers, which force ``family``)."""
    import argparse
    import sys
    if family is None:
        prog = 'python -m mmfish.convert'
        description = ('Convert a FishNet, Res2Net or ResNeSt checkpoint (official releases, '
                       'timm, mmdet, mmseg, mmpretrain) into an mmfish checkpoint. The family '
                       'and the variant are detected from the weights.')
    else:
        prog = None
        description = (f'Convert a {FAMILIES[family].FAMILY} checkpoint ('
                       + '; '.join(FAMILIES[family].LAYOUTS) + ') into an mmfish checkpoint.')
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument('src', help='source checkpoint')
    parser.add_argument('dst', help='output checkpoint (.pth), written atomically')
    if family is None:
        parser.add_argument('--family', choices=sorted(FAMILIES),
                            help='the family of SRC (default: detected from its keys)')
    args = parser.parse_args(argv)
    try:
        convert_checkpoint(family or args.family, args.src, args.dst)
    except ConversionError as exc:
        print(f'error: {exc}\nnothing was written.', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('interrupted: nothing was written.', file=sys.stderr)
        return 130
    return 0
