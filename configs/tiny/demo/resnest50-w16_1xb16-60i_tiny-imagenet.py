# make demo's classification twin: the tiny twin ../mmpretrain/resnest50_1xb16-200i_tiny-
# imagenet.py at a quarter of the width (ResNeSt-50 of 16 stem and base channels instead of
# 64, so 512 output channels), for 60 iterations.
_base_ = '../mmpretrain/resnest50_1xb16-200i_tiny-imagenet.py'
demo_iters = 60
model = dict(backbone=dict(stem_channels=16, base_channels=16), head=dict(in_channels=512))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', T_max=demo_iters - 10, by_epoch=False, begin=10,
         end=demo_iters),
]
# no validation while training: the demo's `mim test` evaluates the last checkpoint
train_cfg = dict(max_iters=demo_iters, val_interval=demo_iters, val_begin=demo_iters + 1)
default_hooks = dict(checkpoint=dict(interval=demo_iters))
