# Tiny twin of configs/mmdet/res2net/mask-rcnn_res2net50-v1b_fpn_1x_coco.py
# for CPU runs: the full model and recipe, with the data, input size, schedule and
# evaluation of _base_/tiny_coco.py (its `tiny_overrides`, merged into the full config's
# keys as if written here).
_base_ = [
    '../../mmdet/res2net/mask-rcnn_res2net50-v1b_fpn_1x_coco.py',
    '../_base_/tiny_coco.py',
]
globals().update(_base_.tiny_overrides)
