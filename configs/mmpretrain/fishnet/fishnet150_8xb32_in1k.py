# FishNet-150 on ImageNet-1k with the official recipe (kevin-ssy/FishNet): batch 256 (8 x 32),
# SGD lr 0.1, momentum 0.9, weight decay 1e-4 on all weights and biases, 100 epochs with the
# lr divided by 10 at epochs 30, 60 and 90; random resized crop 224 (8%-100%, 3/4-4/3), flip,
# PCA lighting 0.1; test: resize 256, center crop 224.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmfish.FishNet', depth=150, out_indices=(3, )),
    # the official classifier: FishNet's score layers, global pool, then a linear layer
    neck=dict(type='mmfish.FishScore', in_channels=2112, pool=True),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1056,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

# AlexNet-style PCA lighting, eigen-values/vectors in BGR order (images load as BGR)
EIGVAL = [55.4625, 4.7940, 1.1475]
EIGVEC = [[-0.5836, -0.6948, 0.4203], [-0.5808, -0.0045, -0.8140],
          [-0.5675, 0.7192, 0.4009]]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Lighting', eigval=EIGVAL, eigvec=EIGVEC, alphastd=0.1, to_rgb=False),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
