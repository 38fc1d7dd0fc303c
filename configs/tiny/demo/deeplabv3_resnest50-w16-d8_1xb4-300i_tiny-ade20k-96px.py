# make demo's segmentation twin: the tiny twin ../mmseg/deeplabv3_resnest50-d8_1xb4-100i_tiny-
# ade20k.py at a quarter of the width (ResNeSt-50 of 16 stem and base channels instead of 64, so
# 512 output channels; ASPP and auxiliary heads of 64 and 32 channels), on 96x96 crops, for
# 300 iterations (the shapes are told apart by their form only: see tiny_ade20k.py).
_base_ = '../mmseg/deeplabv3_resnest50-d8_1xb4-100i_tiny-ade20k.py'
demo_size = (96, 96)
demo_iters = 300
model = dict(
    data_preprocessor=dict(size=demo_size),
    backbone=dict(stem_channels=16, base_channels=16),
    decode_head=dict(in_channels=512, channels=64),
    auxiliary_head=dict(in_channels=256, channels=32))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),  # reduce_zero_label: the dataset's (False)
    dict(type='RandomResize', scale=demo_size, ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=demo_size, cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=demo_size, keep_ratio=True),
    dict(type='LoadAnnotations'),  # reduce_zero_label: the dataset's (False)
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=demo_iters, by_epoch=False)]
# no validation while training: the demo's `mim test` evaluates the last checkpoint
train_cfg = dict(max_iters=demo_iters, val_interval=demo_iters, val_begin=demo_iters + 1)
default_hooks = dict(checkpoint=dict(interval=demo_iters))
