"""What a checkpoint's key names tell without building any model or knowing any family: which
keys can belong to a backbone, whether they are a plain ResNet's, and the command that converts
released checkpoints. Each family's own key markers are its converter's
(:class:`mmfish.core.family.Family`)."""
import re
from typing import Iterable, List

#: the command that converts released checkpoints (family and variant detected)
CONVERT_COMMAND = 'python -m mmfish.convert'

#: top-level keys of OpenMMLab detectors and segmentors that are not part of a backbone
TASK_PREFIXES = ('neck.', 'rpn_head.', 'roi_head.', 'bbox_head.', 'mask_head.', 'decode_head.',
                 'auxiliary_head.', 'data_preprocessor.', 'semantic_head.', 'panoptic_head.',
                 # mmpose's heads (HeatmapHead: deconv_layers, final_layer); a classifier's
                 # head.fc is kept by the converters' rules before these
                 'head.')

#: what a plain ResNet / ResNeXt bottleneck has, and none of mmfish's families
RESNET_MARKER = re.compile(r'(^|\.)layer\d\.\d+\.conv2\.weight$')


def backbone_keys(keys: Iterable[str]) -> List[str]:
    """The keys that can belong to a backbone: without the necks and heads of detectors and
    segmentors (whose mask heads have ``convs.0`` layers, as Res2Net blocks do) and without
    classifiers."""
    return [k for k in keys if not any(k.startswith(p) or k.startswith('module.' + p)
                                       for p in TASK_PREFIXES)
            and not k.startswith(('head.', 'fc.', 'module.fc.'))]


def plain_resnet_keys(keys: Iterable[str]) -> List[str]:
    """The keys of plain ResNet / ResNeXt blocks (a single ``conv2``) among ``keys``."""
    return [k for k in keys if RESNET_MARKER.search(k)]
