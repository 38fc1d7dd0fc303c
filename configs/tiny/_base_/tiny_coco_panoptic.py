# Data, input size, schedule and evaluation of the mmdet panoptic tiny twins: 3 thing classes
# (shapes) on 1-2 regions of 3 stuff classes (textures) in the COCO panoptic layout
# (mmfish_tools/tiny_panoptic.py), read by mmdet's CocoPanopticDataset and scored by its
# CocoPanopticMetric (PQ); 96x96, 100 iterations of batch 4. Trained as the tiny COCO twins
# (tiny_coco.py: from scratch, learning rate and gradient clipping, numbers of proposals and
# sampled RoIs, loops): its `tiny_overrides` with the data, heads and schedule below merged in.
# A twin inherits its full config and this file, and sets `tiny_overrides` over the full config
# (tiny_runtime.py).
_base_ = './tiny_coco.py'
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
tiny_val_dataloader = dict(
    dataset=dict(data_root=tiny_data_root, metainfo=tiny_metainfo,
                 ann_file='annotations/panoptic_val2017.json',
                 data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
                 pipeline=tiny_test_pipeline))
tiny_evaluator = dict(ann_file=tiny_data_root + 'annotations/panoptic_val2017.json',
                      seg_prefix=tiny_data_root + 'annotations/panoptic_val2017/')
tiny_overrides = dict(
    model=dict(
        roi_head=dict(bbox_head=dict(num_classes=tiny_num_things),
                      mask_head=dict(num_classes=tiny_num_things)),
        semantic_head=dict(num_things_classes=tiny_num_things,
                           num_stuff_classes=tiny_num_stuff),
        panoptic_fusion_head=dict(num_things_classes=tiny_num_things,
                                  num_stuff_classes=tiny_num_stuff),
        # stuff segments of fewer than 64 px dropped at test time (COCO's 4096 px is about as
        # small a share of its images)
        test_cfg=dict(panoptic=dict(stuff_area_limit=64))),
    train_dataloader=dict(
        dataset=dict(data_root=tiny_data_root, metainfo=tiny_metainfo,
                     ann_file='annotations/panoptic_train2017.json',
                     data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
                     pipeline=tiny_train_pipeline)),
    val_dataloader=tiny_val_dataloader,
    test_dataloader=tiny_val_dataloader,
    val_evaluator=tiny_evaluator,
    test_evaluator=tiny_evaluator,
    param_scheduler=[
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=100, milestones=[80], gamma=0.1),
    ],
    train_cfg=dict(max_iters=100, val_interval=50),
    # a checkpoint at each validation, never half-written (no full mmfish config sets the hook
    # here)
    default_hooks=dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook', interval=50)))
