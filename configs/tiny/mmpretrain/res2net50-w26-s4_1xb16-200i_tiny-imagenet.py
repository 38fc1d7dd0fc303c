# Tiny twin of configs/mmpretrain/res2net/res2net50-w26-s4_8xb32_in1k.py
# for CPU runs: the full model and recipe, with the data, input size, schedule and
# evaluation of _base_/tiny_imagenet.py (its `tiny_overrides`, merged into the full config's
# keys as if written here).
_base_ = [
    '../../mmpretrain/res2net/res2net50-w26-s4_8xb32_in1k.py',
    '../_base_/tiny_imagenet.py',
]
globals().update(_base_.tiny_overrides)
