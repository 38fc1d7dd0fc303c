# Tiny twin of configs/mmpretrain/resnest/resnest50_64xb128_in1k.py
# for CPU runs: the full model and recipe, with the data, input size, schedule and
# evaluation of _base_/tiny_imagenet.py (its `tiny_overrides`, merged into the full config's
# keys as if written here).
_base_ = [
    '../../mmpretrain/resnest/resnest50_64xb128_in1k.py',
    '../_base_/tiny_imagenet.py',
]
globals().update(_base_.tiny_overrides)
# in place of tiny_imagenet.py's model: the class count also for the recipe's Mixup and
# label-smoothing loss
model = dict(
    data_preprocessor=dict(num_classes=3),
    head=dict(num_classes=3, topk=(1, ), loss=dict(num_classes=3)))
