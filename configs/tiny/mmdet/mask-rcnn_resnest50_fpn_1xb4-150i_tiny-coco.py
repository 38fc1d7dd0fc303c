# Tiny twin of configs/mmdet/resnest/mask-rcnn_resnest50_fpn_syncbn-backbone+head_ms-1x_coco.py
# for CPU runs: the full model and recipe, with the data, input size, schedule and
# evaluation of _base_/tiny_coco.py (its `tiny_overrides`, merged into the full config's
# keys as if written here).
_base_ = [
    '../../mmdet/resnest/mask-rcnn_resnest50_fpn_syncbn-backbone+head_ms-1x_coco.py',
    '../_base_/tiny_coco.py',
]
globals().update(_base_.tiny_overrides)
