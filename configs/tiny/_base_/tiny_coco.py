# Data, input size, schedule and evaluation of the mmdet tiny twins: 3 shape classes in the COCO
# layout (`python tools/make_tiny_datasets.py`), 128x128, 150 iterations of batch 4, trained from
# scratch. A twin inherits its full config and this file, and sets `tiny_overrides` over the full
# config (tiny_runtime.py). tiny_coco_panoptic.py trains the same way on panoptic data.
_base_ = './tiny_runtime.py'  # seed and hooks: reproducible and restartable runs
tiny_metainfo = dict(classes=('circle', 'square', 'triangle'),
                     palette=[(255, 0, 0), (0, 255, 0), (0, 0, 255)])
tiny_data_root = 'data/tiny/coco/'
tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
tiny_val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=tiny_data_root, metainfo=tiny_metainfo,
                 ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/'), pipeline=tiny_test_pipeline))
tiny_evaluator = dict(ann_file=tiny_data_root + 'annotations/instances_val2017.json')
# from scratch: mmfish's default initialisation instead of the ImageNet weights
tiny_backbone_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]
tiny_overrides = dict(
    model=dict(
        # from scratch (no converted ImageNet weights here), so nothing is frozen: neither the
        # stem and first stage nor the BatchNorm statistics (they would keep their initial values)
        backbone=dict(init_cfg=tiny_backbone_init, frozen_stages=-1, norm_eval=False),
        roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)),
        # proposals and sampled RoIs scaled to 128x128 images (COCO's are ~65x larger)
        train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=100),
                       rcnn=dict(sampler=dict(num=64))),
        test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100))),
    train_dataloader=dict(
        batch_size=4, num_workers=0, persistent_workers=False,
        dataset=dict(data_root=tiny_data_root, metainfo=tiny_metainfo,
                     ann_file='annotations/instances_train2017.json',
                     data_prefix=dict(img='train2017/'), pipeline=tiny_train_pipeline)),
    val_dataloader=tiny_val_dataloader,
    test_dataloader=tiny_val_dataloader,
    val_evaluator=tiny_evaluator,
    test_evaluator=tiny_evaluator,
    # from scratch, batch 4: a quarter of mmdet's lr for batch 16, with mmdet's gradient clipping
    optim_wrapper=dict(optimizer=dict(lr=0.005), clip_grad=dict(max_norm=35, norm_type=2)),
    param_scheduler=[
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=150, milestones=[120], gamma=0.1),
    ],
    train_cfg=dict(_delete_=True, type='IterBasedTrainLoop', max_iters=150, val_interval=75),
    val_cfg=dict(type='ValLoop'),
    test_cfg=dict(type='TestLoop'),
    default_hooks=dict(checkpoint=dict(interval=75)),  # a checkpoint at each validation
    log_processor=dict(by_epoch=False))
