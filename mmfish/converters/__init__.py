"""Convert released checkpoints of FishNet, Res2Net and ResNeSt into mmfish checkpoints.

``convert_checkpoint(family, src, dst)`` reads the source in any known layout, detects the
variant from the weights' shapes, checks every key against the model it describes and writes
``{'meta': ..., 'state_dict': ...}`` atomically, with ``backbone.``, ``neck.`` and ``head.``
keys as an mmpretrain ``ImageClassifier`` of the variant's in1k config expects. Nothing is
written when anything does not fit.
"""
import inspect
import os
from typing import Callable, Optional

from ..models.backbones.fishnet import FishScore
from ..variants import VARIANTS, classifier_parts
from . import fishnet, res2net, resnest
from .common import (
    ConversionError,
    check_family,
    check_keys,
    expected_state,
    load_state_dict,
    save_atomic,
)

FAMILIES = {'fishnet': fishnet, 'res2net': res2net, 'resnest': resnest}

__all__ = ['ConversionError', 'convert_checkpoint', 'FAMILIES', 'find_variant']


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

def convert_checkpoint(family: str, src: str, dst: str, log: Callable[[str], None] = print) -> dict:
    """Convert ``src`` to an mmfish checkpoint at ``dst``; return the written ``meta``."""
    if family not in FAMILIES:
        raise ConversionError(f'unknown family {family!r}; valid: {", ".join(FAMILIES)}')
    if os.path.abspath(src) == os.path.abspath(dst):
        raise ConversionError(f'the output {dst} would overwrite the source checkpoint')
    fam = FAMILIES[family]
    log(f'reading {src}')
    state, _ = load_state_dict(src)
    check_family(state, fam.FAMILY, src)
    state, layout, dropped = fam.to_mmfish_keys(state, src)
    cfg = _minimal(fam.detect(state, src), fam.MODEL)
    backbone = dict(type=fam.FAMILY, **cfg)
    log(f'layout: {layout}; backbone: {backbone}')

    backbone_state = {k[len('backbone.'):]: v for k, v in state.items()
                      if k.startswith('backbone.')}
    check_keys(backbone_state, expected_state(lambda: fam.MODEL(**cfg)), fam.FAMILY, src,
               f'{fam.FAMILY} backbone {cfg}')
    parts = classifier_parts(backbone)
    neck_state = {k[len('neck.'):]: v for k, v in state.items() if k.startswith('neck.')}
    num_classes = None
    if 'head.fc.weight' in state:
        if fam.FAMILY == 'FishNet':
            check_keys(neck_state, expected_state(
                lambda: FishScore(parts['neck']['in_channels'], pool=True)), fam.FAMILY, src,
                       'FishNet classifier neck')
        weight = state['head.fc.weight']
        num_classes = weight.shape[0]
        if weight.shape[1] != parts['head_in_channels'] or 'head.fc.bias' not in state:
            raise ConversionError(f'{src}: the classifier head.fc {tuple(weight.shape)} does not '
                                  f'fit the backbone ({parts["head_in_channels"]} features)')
    elif neck_state:
        raise ConversionError(f'{src}: neck weights without a classifier: '
                              f'{sorted(neck_state)[:5]}')
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


def main(family: str, argv=None) -> int:
    """Command line of ``tools/model_converters/<family>2mmfish.py``."""
    import argparse
    import sys
    parser = argparse.ArgumentParser(
        description=f'Convert a {FAMILIES[family].FAMILY} checkpoint ('
                    + '; '.join(FAMILIES[family].LAYOUTS) + ') into an mmfish checkpoint.')
    parser.add_argument('src', help='source checkpoint')
    parser.add_argument('dst', help='output checkpoint (.pth), written atomically')
    args = parser.parse_args(argv)
    try:
        convert_checkpoint(family, args.src, args.dst)
    except ConversionError as exc:
        print(f'error: {exc}\nnothing was written.', file=sys.stderr)
        return 1
    return 0
