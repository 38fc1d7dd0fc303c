# Tiny twin of configs/mmpretrain/fishnet/fishnet150_8xb32_in1k.py
# for CPU runs: the full model and recipe, with the data, input size, schedule and
# evaluation of _base_/tiny_imagenet.py (its `tiny_overrides`, merged into the full config's
# keys as if written here).
_base_ = [
    '../../mmpretrain/fishnet/fishnet150_8xb32_in1k.py',
    '../_base_/tiny_imagenet.py',
]
globals().update(_base_.tiny_overrides)
