# Data, input size, schedule and evaluation of the mmdet panoptic tiny twins: 3 thing classes
# (shapes) on 1-2 regions of 3 stuff classes (textures) in the COCO panoptic layout
# (mmfish_tools/tiny_panoptic.py), read by mmdet's CocoPanopticDataset and scored by its
# CocoPanopticMetric (PQ); 96x96, 100 iterations of batch 4. A twin inherits its full config and
# this file, and takes these values by name.
_base_ = './tiny_runtime.py'  # seed and hooks: reproducible and restartable runs
# mmfish_tools.tiny_panoptic.panoptic_metainfo: the things, then the stuff (the json's order)
tiny_metainfo = dict(
    classes=('circle', 'square', 'triangle', 'smooth', 'waves', 'checks'),
    thing_classes=('circle', 'square', 'triangle'),
    stuff_classes=('smooth', 'waves', 'checks'),
    palette=[(220, 20, 60), (0, 142, 70), (0, 60, 230), (150, 150, 150), (90, 160, 200),
             (160, 120, 60)])
tiny_num_things = 3
tiny_num_stuff = 3
tiny_data_root = 'data/tiny/coco_panoptic/'
tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='Resize', scale=(96, 96), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(96, 96), keep_ratio=True),
    dict(type='LoadPanopticAnnotations'),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
tiny_train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=tiny_data_root, metainfo=tiny_metainfo,
                 ann_file='annotations/panoptic_train2017.json',
                 data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
                 pipeline=tiny_train_pipeline))
tiny_val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=tiny_data_root, metainfo=tiny_metainfo,
                 ann_file='annotations/panoptic_val2017.json',
                 data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
                 pipeline=tiny_test_pipeline))
tiny_evaluator = dict(ann_file=tiny_data_root + 'annotations/panoptic_val2017.json',
                      seg_prefix=tiny_data_root + 'annotations/panoptic_val2017/')
# proposals and sampled RoIs scaled to 96x96 images, as the tiny COCO twins'; stuff segments of
# fewer than 64 px dropped at test time (COCO's 4096 px is about as small a share of its images)
tiny_model_train_cfg = dict(rpn_proposal=dict(nms_pre=200, max_per_img=100),
                            rcnn=dict(sampler=dict(num=64)))
tiny_model_test_cfg = dict(rpn=dict(nms_pre=200, max_per_img=100),
                           panoptic=dict(stuff_area_limit=64))
# from scratch, batch 4: a quarter of mmdet's lr for batch 16, with mmdet's gradient clipping
tiny_optim_wrapper = dict(optimizer=dict(lr=0.005), clip_grad=dict(max_norm=35, norm_type=2))
# from scratch: mmfish's default initialisation instead of the ImageNet weights
tiny_backbone_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]
tiny_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=100, milestones=[80], gamma=0.1),
]
tiny_train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=100, val_interval=50)
# a checkpoint at each validation, never half-written (no full mmfish config sets the hook here)
tiny_default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook', interval=50))
