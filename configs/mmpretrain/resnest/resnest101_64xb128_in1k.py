_base_ = './resnest50_64xb128_in1k.py'
crop_size = 256
resize_size = 293  # ceil(crop_size / 0.875)
model = dict(backbone=dict(depth=101, stem_channels=128))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=crop_size, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='AutoAugment', policies='imagenet', hparams=dict(pad_val=[104, 116, 124])),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=resize_size, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
