# Data, input size, schedule and evaluation of the mmpretrain tiny twins: 3 shape classes in
# the ImageNet layout (`python tools/make_tiny_datasets.py`), 64x64, 200 iterations of batch 16.
# A twin inherits its full config and this file, and sets `tiny_overrides` over the full config
# (tiny_runtime.py).
_base_ = './tiny_runtime.py'  # seed and hooks: reproducible and restartable runs
tiny_classes = ('circle', 'square', 'triangle')
tiny_data_root = 'data/tiny/imagenet'
tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.5, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short', backend='pillow'),
    dict(type='PackInputs'),
]
tiny_val_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=tiny_data_root, split='val', metainfo=dict(classes=tiny_classes),
                 pipeline=tiny_test_pipeline))
tiny_evaluator = dict(type='Accuracy', topk=(1, ))
tiny_overrides = dict(
    model=dict(head=dict(num_classes=3, topk=(1, ))),
    # the class count of batch augments (Mixup, CutMix), merged into the full config's
    # top-level preprocessor (mean, std, BGR-to-RGB), which the Runner gives the model
    data_preprocessor=dict(num_classes=3),
    train_dataloader=dict(
        batch_size=16, num_workers=0, persistent_workers=False,
        dataset=dict(data_root=tiny_data_root, split='train',
                     metainfo=dict(classes=tiny_classes), pipeline=tiny_train_pipeline)),
    val_dataloader=tiny_val_dataloader,
    test_dataloader=tiny_val_dataloader,
    val_evaluator=tiny_evaluator,
    test_evaluator=tiny_evaluator,
    optim_wrapper=dict(optimizer=dict(lr=0.1)),
    param_scheduler=[
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
        dict(type='CosineAnnealingLR', T_max=180, by_epoch=False, begin=20, end=200),
    ],
    train_cfg=dict(_delete_=True, type='IterBasedTrainLoop', max_iters=200, val_interval=100),
    val_cfg=dict(type='ValLoop'),
    test_cfg=dict(type='TestLoop'),
    default_hooks=dict(checkpoint=dict(interval=100)),  # a checkpoint at each validation
    log_processor=dict(by_epoch=False))
