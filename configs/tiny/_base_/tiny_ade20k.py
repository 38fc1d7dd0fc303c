# Data, input size, schedule and evaluation of the mmseg tiny twins: the background and 3 shape
# classes, textured in colours that do not depend on the class, in the ADE20K layout
# (`python tools/make_tiny_datasets.py`), read by mmseg's BaseSegDataset with the background
# (label 0) scored as a class; 128x128, 100 iterations of batch 4. A twin inherits its full
# config and this file, and sets `tiny_overrides` over the full config (tiny_runtime.py).
_base_ = './tiny_runtime.py'  # seed and hooks: reproducible and restartable runs
tiny_data_root = 'data/tiny/ade20k'
tiny_crop_size = (128, 128)
tiny_metainfo = dict(classes=('background', 'circle', 'square', 'triangle'),
                     palette=[(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)])
tiny_num_classes = 4  # the decode and auxiliary heads' outputs
# mmfish_tools.tiny_data.ade20k_dataset_kwargs: the background is label 0, and is scored
tiny_dataset = dict(type='BaseSegDataset', data_root=tiny_data_root, metainfo=tiny_metainfo,
                    img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=False)
tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),  # reduce_zero_label: the dataset's (False)
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=tiny_crop_size, cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations'),  # reduce_zero_label: the dataset's (False)
    dict(type='PackSegInputs'),
]
tiny_val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(**tiny_dataset, pipeline=tiny_test_pipeline,
                 data_prefix=dict(img_path='images/validation',
                                  seg_map_path='annotations/validation')))
tiny_overrides = dict(
    model=dict(
        data_preprocessor=dict(size=tiny_crop_size),
        backbone=dict(init_cfg=None),  # from scratch: no converted ImageNet weights here
        decode_head=dict(num_classes=tiny_num_classes),
        auxiliary_head=dict(num_classes=tiny_num_classes)),
    train_dataloader=dict(
        batch_size=4, num_workers=0, persistent_workers=False,
        dataset=dict(**tiny_dataset, pipeline=tiny_train_pipeline,
                     data_prefix=dict(img_path='images/training',
                                      seg_map_path='annotations/training'))),
    val_dataloader=tiny_val_dataloader,
    test_dataloader=tiny_val_dataloader,
    optim_wrapper=dict(optimizer=dict(lr=0.01)),
    param_scheduler=[
        dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=100, by_epoch=False)],
    train_cfg=dict(type='IterBasedTrainLoop', max_iters=100, val_interval=50),
    default_hooks=dict(checkpoint=dict(interval=50)))  # a checkpoint at each validation
