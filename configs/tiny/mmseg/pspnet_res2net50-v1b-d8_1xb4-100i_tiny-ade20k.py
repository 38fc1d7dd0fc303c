# Tiny twin of configs/mmseg/res2net/pspnet_res2net50-v1b-d8_4xb4-160k_ade20k-512x512.py
# for CPU runs: the full model and recipe, with the data, input size, schedule and
# evaluation of _base_/tiny_ade20k.py (its `tiny_overrides`, merged into the full config's
# keys as if written here).
_base_ = [
    '../../mmseg/res2net/pspnet_res2net50-v1b-d8_4xb4-160k_ade20k-512x512.py',
    '../_base_/tiny_ade20k.py',
]
globals().update(_base_.tiny_overrides)
