# Tiny twin of configs/mmpose/res2net/td-hm_res2net50-v1b_8xb64-210e_coco-256x192.py
# for CPU runs: the full model and recipe, with the data, input size, schedule and
# evaluation of _base_/tiny_coco_pose.py (its `tiny_overrides`, merged into the full config's
# keys as if written here).
_base_ = [
    '../../mmpose/res2net/td-hm_res2net50-v1b_8xb64-210e_coco-256x192.py',
    '../_base_/tiny_coco_pose.py',
]
globals().update(_base_.tiny_overrides)
