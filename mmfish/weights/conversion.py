"""Converting a checkpoint: read it, detect its family and variant, check every tensor
against the model it describes, write it atomically."""
import os
from collections import OrderedDict
from typing import Callable, Optional

import torch

from ..checkpoint.diff import check_values
from ..checkpoint.integrity import check_name_hash
from ..checkpoint.io import ConversionError, check_destination, load_state_dict, save_atomic
from ..core.family import (
    FAMILIES,
    Family,
    converter_hint,
    family_named,
    guess_family,
    minimal,
)
from ..core.keymap import check_family, check_keys, fill_counters
from ..variants import TRAINED, VARIANTS, TrainedModel
from . import decide as _decide
from .decide import decide, decide_dcn, released_variant

__all__ = ['convert_checkpoint', 'detect_family', 'find_variant', 'trained_model']


def trained_model(path: str) -> Optional[TrainedModel]:
    """The toolbox-trained model (:data:`mmfish.variants.TRAINED`) whose released file has
    this file's name, if any."""
    name = os.path.basename(str(path))
    return next((t for t in TRAINED.values() if t.file == name), None)


def _parts(keys) -> list:
    """The top-level parts of a model's keys, in order: ``['neck', 'rpn_head', 'roi_head']``."""
    return list(dict.fromkeys(k.split('.')[0] for k in keys))


def find_variant(backbone: dict) -> Optional[str]:
    """The name of the published variant with exactly this backbone config, if any."""
    fam = family_named(backbone.get('type'))
    return _decide.find_variant(backbone, fam) if fam is not None else None


def _detect(fam: Family, state, source, rest, dcn_type=None):
    """Rename to mmfish keys and detect the variant (the type of deformable convolutions
    decided by :func:`~mmfish.weights.decide.decide_dcn`); a key that detection needs but
    the checkpoint lacks is a ConversionError naming it. Returns the state, its layout, the
    keys left out, the detected backbone and the DCN decision."""
    try:
        state, layout, dropped = fam.to_mmfish_keys(state, source)

        def detect(kind):
            return fam.detect(state, source, layout, kind)

        detected, decided = decide_dcn(fam, detect, source, rest, dcn_type)
        return state, layout, dropped, detected, decided
    except KeyError as exc:
        key = exc.args[0] if exc.args else '?'
        raise ConversionError(
            f'{source}: the checkpoint lacks {key!r}, which every {fam.name} checkpoint has '
            f'(it tells the variant): the file holds part of a model, or another kind of '
            f'model') from None
    except ZeroDivisionError:  # a width the shapes tell comes out 0
        raise ConversionError(
            f'{source}: the shapes of its {fam.name} layers do not fit together (a width they '
            f'tell comes out 0, e.g. a block conv with fewer outputs than its block is wide): a '
            f'weight stored transposed (inputs before outputs), or another kind of model') \
            from None


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
                       dcn_type: Optional[str] = None, backbone_only: bool = False,
                       trained: Optional[str] = None) -> dict:
    """Convert ``src`` to an mmfish checkpoint at ``dst``; return the written ``meta``.

    Args:
        family (str, optional): A registered family's converter name (``'fishnet'``,
            ``'res2net'``, ``'res2netdla'``, ``'resnest'``) or None (detected from the keys:
            :func:`detect_family`).
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
        backbone_only (bool): Keep only the backbone (and an official classifier), leaving out
            a detector's, segmenter's or pose model's necks and heads (``--backbone-only``).
            Defaults to False: the whole model, every tensor outside the backbone carried
            over under its own name.
        trained (str, optional): The toolbox-trained model the file is (a name of
            :data:`mmfish.variants.TRAINED`, e.g. ``'mmdet/mask-rcnn_s50_fpn_syncbn-backbone+
            head_ms-1x_coco'``): its mmfish config is recorded. Defaults to None (a released
            file name whose sha256 prefix was verified tells it).

    A whole detector, segmenter or pose model converts to the same model with mmfish's
    backbone: the backbone's keys are renamed, and every other tensor is carried over as it is
    (the toolbox's necks and heads are the same classes in the mmfish config). The meta's
    ``config`` names the mmfish config that builds the whole model (a toolbox-trained model's,
    or for a classifier its variant's), never a config of another task.
    """
    if family is not None and family not in FAMILIES:
        raise ConversionError(f'unknown family {family!r}; valid: {", ".join(sorted(FAMILIES))}')
    check_destination(dst, src, ConversionError, log)
    if trained is not None and trained not in TRAINED:
        raise ConversionError(f'unknown trained model {trained!r}; valid: '
                              f'{", ".join(sorted(TRAINED))}')
    digest = check_name_hash(src, ConversionError) if check_hash else None
    released = released_variant(src) if digest else None
    row = TRAINED[trained] if trained else (trained_model(src) if digest else None)
    if digest:
        log(f'sha256 {digest}: matches the prefix in the file name'
            + (f' (the released file of {released.name})' if released else '')
            + (f' (the released file of {row.name})' if row and not trained else ''))
    log(f'reading {src}')
    state, rest = load_state_dict(src)
    if family is None:
        family = detect_family(state, src)
        log(f'family: {FAMILIES[family].name} (detected from the keys)')
    fam = FAMILIES[family]
    check_family(state, fam.name, src)
    original = state
    # layers the file lacks that the converter fills (where that computes the same function)
    layers_filled = fam.filled_layers(state, src)
    state, layout, dropped, detected, dcn_decided = _detect(fam, state, src, rest, dcn_type)
    if released is not None and released.backbone['type'] != fam.name:
        released = None  # the name of another family's file: the keys decide
    full, variant, decisions = decide(
        fam, detected, src, rest, variant=variant, settings=settings, released=released,
        released_by=f'the released file name {os.path.basename(src)} (sha256 verified)')
    decisions.update(dcn_decided)
    cfg = minimal(full, fam.model)
    backbone = dict(type=fam.name, **cfg)
    log(f'layout: {layout}; backbone: {backbone}')
    for name, decision in decisions.items():
        if name != 'variant':
            log(f'{name}={decision["value"]} (not visible in the weights): {decision["by"]}')

    backbone_state = {k[len('backbone.'):]: v for k, v in state.items()
                      if k.startswith('backbone.')}
    with torch.device('meta'):  # keys and shapes only: no memory, no init
        model = fam.model(**cfg)
        neck, head_channels = fam.classifier(model)
    expected = model.state_dict()
    check_keys(backbone_state, expected, fam.name, src, f'{fam.name} backbone {cfg}')
    filled = fill_counters(state, expected, prefix='backbone.')
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
                                          head_channels, src)
        if neck is not None:
            check_keys(neck_state, neck.state_dict(), fam.name, src,
                       f'{fam.name} classifier neck')
            filled += fill_counters(state, neck.state_dict(), prefix='neck.')
    elif neck_state:
        raise ConversionError(f'{src}: neck weights without a classifier: '
                              f'{sorted(neck_state)[:5]}')
    carried = OrderedDict() if backbone_only else \
        OrderedDict((k, original[k]) for k in dropped)
    for key in carried:
        if key in state:
            raise ConversionError(f'{src}: {key} is both a renamed backbone or classifier key '
                                  f'and a key of another part of the model')
    state.update(carried)
    check_values(state, src, ConversionError)
    if filled:
        log(f'the checkpoint has no BatchNorm num_batches_tracked counters (saved by PyTorch '
            f'< 0.4.1): {len(filled)} filled with 0 (they do not change what the model '
            f'computes)')
    for fill in layers_filled:
        log(f'filled {fill["module"]} (the checkpoint has none) with an {fill["value"]}: '
            f'{fill["why"]}')
    carried_parts, dropped_parts = ', '.join(_parts(carried)), ', '.join(_parts(dropped))
    if carried:
        log(f'carried over unchanged: {len(carried)} tensors of {carried_parts}')
    elif dropped:
        log(f'--backbone-only: left out {len(dropped)} tensors of {dropped_parts}')
    if row is not None and not carried and not num_classes:
        config, config_says = None, (f'none: {row.config} builds the whole {row.name}, and '
                                     f'this file holds its backbone only')
    elif row is not None:
        config, config_says = row.config, f'{row.config} (it builds {row.name})'
    elif num_classes and variant and not carried:
        config, config_says = VARIANTS[variant].config, VARIANTS[variant].config
    elif carried:
        config, config_says = None, (
            f'none shipped for this model ({carried_parts}): its toolbox config builds it '
            f'once its backbone is mmfish\'s: backbone {backbone} (docs/downstream.md)')
    else:
        config, config_says = None, None
    meta = dict(mmfish=dict(family=fam.name, variant=variant, backbone=backbone,
                            num_classes=num_classes, layout=layout,
                            source=os.path.basename(src), config=config,
                            decided=decisions, sha256=digest))
    if carried:
        meta['mmfish']['parts'] = _parts(carried)
    if row is not None:
        meta['mmfish']['trained'] = row.name
    if layers_filled:
        meta['mmfish']['filled'] = layers_filled
    save_atomic(dict(meta=meta, state_dict=state), dst)
    if carried:
        what = f'the whole model (backbone, {carried_parts})'
    elif num_classes:
        what = f'classifier, {num_classes} classes'
    else:
        what = "backbone only (use it with init_cfg Pretrained, prefix='backbone.')"
    log(f'variant: {variant or "custom"}; {len(state)} tensors, {what}')
    if config_says:
        log(f'config: {config_says}')
    log(f'wrote {dst}')
    return meta


def detect_family(state: dict, src: str) -> str:
    """The converter name (:attr:`~.family.Family.key`) of the family a checkpoint's state dict
    shows in its keys; a ConversionError when they show none of the registered families."""
    guessed = guess_family(state)
    if guessed == 'ResNet':
        raise ConversionError(f'{src}: {converter_hint("ResNet")}')
    if guessed is not None:
        return family_named(guessed).key
    examples = ', '.join(list(state)[:5])
    shown = '; '.join(f'{f.name}: {", ".join(f.markers[:2])}' for f in FAMILIES.values())
    raise ConversionError(
        f'{src}: its keys ({examples}, ...) show none of the families mmfish converts '
        f'({shown}): if it is one of them in a layout mmfish does not know, force the family '
        f'with --family {{{",".join(sorted(FAMILIES))}}} to see which keys do not fit')
