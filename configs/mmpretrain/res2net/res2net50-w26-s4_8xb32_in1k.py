# Res2Net-50 (26w x 4s) on ImageNet-1k with the official recipe: batch 256 (8 x 32), SGD
# lr 0.1, momentum 0.9, weight decay 1e-4, 100 epochs with the lr divided by 10 at epochs 30,
# 60 and 90; random resized crop 224 and flip; test: resize 256, center crop 224.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmfish.Res2Net', depth=50, scales=4, base_width=26, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
