# Tiny twin of configs/mmseg/fishnet/fcn_fishnet150_4xb4-160k_ade20k-512x512.py
# for CPU runs: the full model and recipe, with the data, input size, schedule and
# evaluation of _base_/tiny_ade20k.py (its `tiny_overrides`, merged into the full config's
# keys as if written here).
_base_ = [
    '../../mmseg/fishnet/fcn_fishnet150_4xb4-160k_ade20k-512x512.py',
    '../_base_/tiny_ade20k.py',
]
globals().update(_base_.tiny_overrides)
