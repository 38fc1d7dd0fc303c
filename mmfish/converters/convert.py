"""Converting a checkpoint: read it, detect its family and variant, check every tensor
against the model it describes, write it atomically; and the command line."""
import os
from typing import Callable, Optional

from ..checkpoint.diff import check_values
from ..checkpoint.families import FAMILY_MARKERS, converter_hint, guess_family
from ..checkpoint.integrity import check_name_hash
from ..checkpoint.io import ConversionError, check_destination, load_state_dict, save_atomic
from ..models.necks import FishScore
from ..variants import VARIANTS, classifier_parts
from . import decide as _decide
from .common import check_family, check_keys, expected_state, fill_counters
from .decide import DCN_TYPES, decide, decide_dcn, minimal, released_variant
from .families import FAMILIES

__all__ = ['convert_checkpoint', 'detect_family', 'find_variant', 'main']


def find_variant(backbone: dict) -> Optional[str]:
    """The name of the published variant with exactly this backbone config, if any."""
    fam = next((f for f in FAMILIES.values() if f.FAMILY == backbone.get('type')), None)
    return _decide.find_variant(backbone, fam) if fam is not None else None


def _detect(fam, state, source, rest, dcn_type=None):
    """Rename to mmfish keys and detect the variant (the type of deformable convolutions
    decided by :func:`~mmfish.converters.decide.decide_dcn`); a key that detection needs but
    the checkpoint lacks is a ConversionError naming it. Returns the state, its layout, the
    keys left out, the detected backbone and the DCN decision."""
    try:
        state, layout, dropped = fam.to_mmfish_keys(state, source)

        def detect(kind):
            if kind is None:
                return fam.detect(state, source, layout)
            return fam.detect(state, source, layout, dcn_type=kind)

        detected, decided = decide_dcn(fam, detect, source, rest, dcn_type)
        return state, layout, dropped, detected, decided
    except KeyError as exc:
        key = exc.args[0] if exc.args else '?'
        raise ConversionError(
            f'{source}: the checkpoint lacks {key!r}, which every {fam.FAMILY} checkpoint has '
            f'(it tells the variant): the file holds part of a model, or another kind of '
            f'model') from None


def _classifier_classes(weight, bias, in_channels: int, src: str) -> int:
    """The number of classes of the classifier ``fc.weight`` / ``fc.bias``; a ConversionError
    unless they are a linear layer from the backbone's ``in_channels`` features to at least one
    class."""
    shapes = f'fc.weight {tuple(weight.shape)} / fc.bias {tuple(bias.shape)}'
    rows = weight.shape[0] if weight.dim() else 'classes'
    if weight.dim() != 2 or weight.shape[1] != in_channels or tuple(bias.shape) != (rows, ):
        raise ConversionError(f'{src}: the classifier {shapes} does not fit the backbone: '
                              f'expected ({rows}, {in_channels}) and ({rows}, )')
    if not rows:
        raise ConversionError(
            f'{src}: the classifier {shapes} has 0 classes, so it predicts nothing: a classifier '
            f'has at least 1 class (1000 for ImageNet-1k); for the backbone alone, remove '
            f'fc.weight and fc.bias from the file and convert it again')
    return rows


def convert_checkpoint(family: Optional[str], src: str, dst: str,
                       log: Callable[[str], None] = print, variant: Optional[str] = None,
                       settings: Optional[dict] = None, check_hash: bool = True,
                       dcn_type: Optional[str] = None) -> dict:
    """Convert ``src`` to an mmfish checkpoint at ``dst``; return the written ``meta``.

    Args:
        family (str, optional): ``'fishnet'``, ``'res2net'``, ``'resnest'`` or None
            (detected from the keys: :func:`detect_family`).
        src (str): The checkpoint to convert.
        dst (str): The mmfish checkpoint to write (atomically).
        log (callable): Where progress lines go. Defaults to ``print``.
        variant (str, optional): The released variant (a name of
            :data:`mmfish.variants.VARIANTS`) when the weights fit several. Defaults to None.
        settings (dict, optional): Backbone arguments the weights cannot show, e.g.
            ``{'avd_first': True}`` for ResNeSt. Defaults to None.
        check_hash (bool): Check the file's sha256 against the prefix its name carries
            (``resnest50-528c19ca.pth``). Defaults to True.
        dcn_type (str, optional): ``'DCN'`` or ``'DCNv2'``: the type of mmdet's deformable
            convolutions where their offset convs fit both (``--dcn-type``). Defaults to None
            (the checkpoint's own config decides, or the conversion is refused).
    """
    if family is not None and family not in FAMILIES:
        raise ConversionError(f'unknown family {family!r}; valid: {", ".join(FAMILIES)}')
    check_destination(dst, src, ConversionError, log)
    digest = check_name_hash(src, ConversionError) if check_hash else None
    released = released_variant(src) if digest else None
    if digest:
        log(f'sha256 {digest}: matches the prefix in the file name'
            + (f' (the released file of {released.name})' if released else ''))
    log(f'reading {src}')
    state, rest = load_state_dict(src)
    if family is None:
        family = detect_family(state, src)
        log(f'family: {FAMILIES[family].FAMILY} (detected from the keys)')
    fam = FAMILIES[family]
    check_family(state, fam.FAMILY, src)
    # layers the file lacks that the converter fills (where that computes the same function)
    layers_filled = fam.filled_layers(state, src) if hasattr(fam, 'filled_layers') else []
    state, layout, dropped, detected, dcn_decided = _detect(fam, state, src, rest, dcn_type)
    if released is not None and released.backbone['type'] != fam.FAMILY:
        released = None  # the name of another family's file: the keys decide
    full, variant, decisions = decide(
        fam, detected, src, rest, variant=variant, settings=settings, released=released,
        released_by=f'the released file name {os.path.basename(src)} (sha256 verified)')
    decisions.update(dcn_decided)
    cfg = minimal(full, fam.MODEL)
    backbone = dict(type=fam.FAMILY, **cfg)
    log(f'layout: {layout}; backbone: {backbone}')
    for name, decision in decisions.items():
        if name != 'variant':
            log(f'{name}={decision["value"]} (not visible in the weights): {decision["by"]}')

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
        num_classes = _classifier_classes(state['head.fc.weight'], state['head.fc.bias'],
                                          parts['head_in_channels'], src)
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
    for fill in layers_filled:
        log(f'filled {fill["module"]} (the checkpoint has none) with an {fill["value"]}: '
            f'{fill["why"]}')
    if dropped:
        log(f'not part of the backbone or classifier, left out: {len(dropped)} keys '
            f'({", ".join(sorted({k.split(".")[0] for k in dropped}))})')
    meta = dict(mmfish=dict(family=fam.FAMILY, variant=variant, backbone=backbone,
                            num_classes=num_classes, layout=layout,
                            source=os.path.basename(src),
                            config=VARIANTS[variant].config if variant else None,
                            decided=decisions, sha256=digest))
    if layers_filled:
        meta['mmfish']['filled'] = layers_filled
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
    shown = '; '.join(f'{name}: {", ".join(markers[:2])}'
                      for name, markers in FAMILY_MARKERS.items())
    raise ConversionError(
        f'{src}: its keys ({examples}, ...) show none of the families mmfish converts '
        f'({shown}): if it is one of them in a layout mmfish does not know, force the family '
        f'with --family {{{",".join(FAMILIES)}}} to see which keys do not fit')


def main(family: Optional[str] = None, argv=None) -> int:
    """Command line of ``python -m mmfish.convert`` (and of the
    ``tools/model_converters/<family>2mmfish.py`` wrappers, which force ``family``)."""
    import argparse
    import inspect
    import sys
    if family is None:
        prog = 'python -m mmfish.convert'
        description = ('Convert a FishNet, Res2Net, Res2Net-DLA or ResNeSt checkpoint '
                       '(official releases, PaddleClas, timm, mmdet, mmseg, mmpretrain) into an '
                       'mmfish checkpoint. The family and the variant are detected from the '
                       'weights; what they cannot show is decided from the released variants '
                       'or refused (docs/converters.md).')
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
    families = [FAMILIES[family]] if family else list(FAMILIES.values())
    names = sorted({v.name for v in VARIANTS.values()
                    if any(v.backbone['type'] == f.FAMILY for f in families)})
    parser.add_argument('--variant', choices=names, metavar='NAME',
                        help='the released variant, when the weights fit several (the '
                             'converter says so and lists them): ' + ', '.join(names))
    hidden = sorted({(name, f.FAMILY) for f in families for name in getattr(f, 'HIDDEN', ())})
    for name, fam_name in hidden:
        parser.add_argument(f'--{name.replace("_", "-")}', action=argparse.BooleanOptionalAction,
                            default=None, help=f'{fam_name}: set {name}, which the weights '
                            f'cannot show (default: decided from the released variants)')
    dcn_families = [f.FAMILY for f in families
                    if 'dcn_type' in inspect.signature(f.detect).parameters]
    if dcn_families:
        parser.add_argument('--dcn-type', choices=DCN_TYPES,
                            help=f'{", ".join(dcn_families)}: the type of mmdet\'s deformable '
                                 f'convolutions where their offset convs fit both (e.g. DCNv2 '
                                 f'with 2 deformable groups has the channels of DCN with 3) '
                                 f'(default: the checkpoint\'s own config decides, or the '
                                 f'conversion is refused)')
    parser.add_argument('--no-check-hash', dest='check_hash', action='store_false',
                        help="do not check the file's sha256 against the prefix in its name")
    args = parser.parse_args(argv)
    settings = {name: getattr(args, name) for name, _ in hidden
                if getattr(args, name) is not None}
    try:
        convert_checkpoint(family or args.family, args.src, args.dst, variant=args.variant,
                           settings=settings or None, check_hash=args.check_hash,
                           dcn_type=getattr(args, 'dcn_type', None))
    except ConversionError as exc:
        print(f'error: {exc}\nnothing was written.', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('interrupted: nothing was written.', file=sys.stderr)
        return 130
    return 0
