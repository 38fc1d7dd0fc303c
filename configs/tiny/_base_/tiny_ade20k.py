# Data, input size, schedule and evaluation of the mmseg tiny twins: 3 shape classes in the
# ADE20K layout (`python tools/make_tiny_datasets.py`; background is ADE20K's ignored label 0),
# 128x128, 100 iterations of batch 4. A twin inherits its full config and this file, and takes
# these values by name.
_base_ = './tiny_runtime.py'  # seed and hooks: reproducible and restartable runs
tiny_data_root = 'data/tiny/ade20k'
tiny_crop_size = (128, 128)
tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=tiny_crop_size, cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
tiny_train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=tiny_data_root, pipeline=tiny_train_pipeline,
                 data_prefix=dict(img_path='images/training',
                                  seg_map_path='annotations/training')))
tiny_val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=tiny_data_root, pipeline=tiny_test_pipeline,
                 data_prefix=dict(img_path='images/validation',
                                  seg_map_path='annotations/validation')))
tiny_lr = 0.01
tiny_param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=100, by_epoch=False)]
tiny_train_cfg = dict(type='IterBasedTrainLoop', max_iters=100, val_interval=50)
# a checkpoint at each validation
tiny_default_hooks = dict(checkpoint=dict(interval=50))
