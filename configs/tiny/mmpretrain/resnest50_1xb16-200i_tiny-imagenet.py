# Tiny twin of configs/mmpretrain/resnest/resnest50_64xb128_in1k.py
# for CPU runs: the full model and recipe, with the data, input size, schedule and
# evaluation of _base_/tiny_imagenet.py (its `tiny_overrides`, merged into the full config's
# keys as if written here).
_base_ = [
    '../../mmpretrain/resnest/resnest50_64xb128_in1k.py',
    '../_base_/tiny_imagenet.py',
]
globals().update(_base_.tiny_overrides)
# in place of tiny_imagenet.py's model: the class count also for the recipe's
# label-smoothing loss (a data_preprocessor inside `model` would replace the inherited
# top-level one, mean, std and BGR-to-RGB included, instead of merging with it)
model = dict(head=dict(num_classes=3, topk=(1, ), loss=dict(num_classes=3)))
