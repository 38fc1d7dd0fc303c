"""What a checkpoint's key names tell about the model it holds, without building any model:
which family (FishNet, Res2Net, ResNeSt, or a plain ResNet that mmfish does not convert),
which keys belong to a backbone, and the command that converts it."""
import re
from typing import Iterable, List, Optional

#: the command that converts released checkpoints (family and variant detected)
CONVERT_COMMAND = 'python -m mmfish.convert'

#: top-level keys of OpenMMLab detectors and segmentors that are not part of a backbone
TASK_PREFIXES = ('neck.', 'rpn_head.', 'roi_head.', 'bbox_head.', 'mask_head.', 'decode_head.',
                 'auxiliary_head.', 'data_preprocessor.', 'semantic_head.', 'panoptic_head.',
                 # mmpose's heads (HeatmapHead: deconv_layers, final_layer); a classifier's
                 # head.fc is kept by the converters' rules before these
                 'head.')

#: one distinctive key fragment per family, to name the likely cause of a mismatch
FAMILY_MARKERS = {
    'FishNet': ('fish.fish.', '.transfer.', 'bridge.'),
    'ResNeSt': ('.conv2.fc1.', '.conv2.conv.'),
    # before Res2Net: Res2Net-DLA's blocks (level<i>.tree1/tree2) have Res2Net's convs.0 too
    'Res2NetDLA': ('.tree1.convs.0.', '.tree2.convs.0.'),
    # PaddleClas' Res2Net_vd: res2a_branch2b_1._conv.weight, res2a_branch2b_1_weights, ...
    'Res2Net': ('.convs.0.', '.bns.0.', '_branch2b_1.', '_branch2b_1_'),
}

#: what a plain ResNet / ResNeXt bottleneck has, and none of the three families
RESNET_MARKER = re.compile(r'(^|\.)layer\d\.\d+\.conv2\.weight$')


def backbone_keys(keys: Iterable[str]) -> List[str]:
    """The keys that can belong to a backbone: without the necks and heads of detectors and
    segmentors (whose mask heads have ``convs.0`` layers, as Res2Net blocks do) and without
    classifiers."""
    return [k for k in keys if not any(k.startswith(p) or k.startswith('module.' + p)
                                       for p in TASK_PREFIXES)
            and not k.startswith(('head.', 'fc.', 'module.fc.'))]


def guess_family(keys: Iterable[str]) -> Optional[str]:
    """``'FishNet'``, ``'Res2Net'``, ``'ResNeSt'`` or ``'ResNet'`` (a plain ResNet/ResNeXt,
    which mmfish does not convert) from a checkpoint's backbone keys, or None."""
    keys = backbone_keys(keys)
    for family, markers in FAMILY_MARKERS.items():
        if any(m in k for k in keys for m in markers):
            return family
    if any(RESNET_MARKER.search(k) for k in keys):
        return 'ResNet'
    return None


def family_examples(keys: Iterable[str], family: str, limit: int = 3) -> List[str]:
    """Keys that show ``family`` (its markers; for 'ResNet', single-conv2 blocks)."""
    if family == 'ResNet':
        return [k for k in keys if RESNET_MARKER.search(k)][:limit]
    return [k for k in backbone_keys(keys) if any(m in k for m in FAMILY_MARKERS[family])][:limit]


def converter_hint(family: str) -> str:
    """What to run for a checkpoint of ``family`` (one of FAMILY_MARKERS, or 'ResNet')."""
    if family == 'ResNet':
        return ('it is a plain ResNet/ResNeXt checkpoint (its blocks have a single conv2, no '
                'Res2Net splits or ResNeSt split attention): mmfish converts FishNet, Res2Net '
                "and ResNeSt; load ResNet weights with the toolbox's own ResNet")
    name = family.lower()
    return (f'convert it with {CONVERT_COMMAND} SRC DST --family {name} (in a source '
            f'checkout also tools/model_converters/{name}2mmfish.py SRC DST)')
