# ResNeSt-50 on ImageNet-1k with the official recipe (zhanghang1989/ResNeSt): batch 8192
# (64 x 128), SGD lr 3.2 (0.05 per 128 images), momentum 0.9, weight decay 1e-4 except on
# norms and biases, 5 warm-up epochs then cosine to epoch 270, label smoothing 0.1, mixup 0.2,
# AutoAugment, zero-initialised last BN of each block; test: resize to size / 0.875, center crop.
# (The official DropBlock is not part of this recipe: its PyTorch code never implemented it.)
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64.py',
    '../_base_/default_runtime.py',
]
crop_size = 224
resize_size = 256  # ceil(crop_size / 0.875)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmfish.ResNeSt', depth=50, stem_channels=64, zero_init_residual=True,
        out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, num_classes=1000,
                  reduction='mean', loss_weight=1.0),
        topk=(1, 5),
        cal_acc=False),
    train_cfg=dict(augments=dict(type='Mixup', alpha=0.2)),
)

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
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=3.2, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=265, by_epoch=True, begin=5, end=270),
]
train_cfg = dict(by_epoch=True, max_epochs=270, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=8192)
