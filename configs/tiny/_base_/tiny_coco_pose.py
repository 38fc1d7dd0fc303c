# Data, input size, schedule and evaluation of the mmpose tiny twins: stick figures with COCO's
# 17 keypoints in the COCO keypoints layout (mmfish_tools/tiny_pose.py), 64x64 crops (no
# flips: each joint has its own colour, so a flipped left joint would look like a left one),
# 120 iterations of batch 8. A twin inherits its full config and this file, and sets
# `tiny_overrides` over the full config (tiny_runtime.py; the full config's pipelines hold its
# own codec: they are replaced).
_base_ = './tiny_runtime.py'  # seed and hooks: reproducible and restartable runs
tiny_codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)
tiny_data_root = 'data/tiny/coco_pose/'
tiny_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomBBoxTransform', rotate_factor=20),
    dict(type='TopdownAffine', input_size=tiny_codec['input_size']),
    dict(type='GenerateTarget', encoder=tiny_codec),
    dict(type='PackPoseInputs'),
]
tiny_val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=tiny_codec['input_size']),
    dict(type='PackPoseInputs'),
]
# ground-truth person boxes (no detector's): bbox_file removed
tiny_val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=tiny_data_root, ann_file='annotations/person_keypoints_val2017.json',
                 bbox_file=None, data_prefix=dict(img='val2017/'), pipeline=tiny_val_pipeline))
tiny_val_evaluator = dict(ann_file=tiny_data_root + 'annotations/person_keypoints_val2017.json')
tiny_overrides = dict(
    model=dict(
        backbone=dict(init_cfg=None),  # from scratch: no converted ImageNet weights here
        head=dict(decoder=tiny_codec),
        test_cfg=dict(flip_test=False)),
    codec=tiny_codec,
    train_dataloader=dict(
        batch_size=8, num_workers=0, persistent_workers=False,
        dataset=dict(data_root=tiny_data_root,
                     ann_file='annotations/person_keypoints_train2017.json',
                     data_prefix=dict(img='train2017/'), pipeline=tiny_train_pipeline)),
    val_dataloader=tiny_val_dataloader,
    test_dataloader=tiny_val_dataloader,
    val_evaluator=tiny_val_evaluator,
    test_evaluator=tiny_val_evaluator,
    optim_wrapper=dict(optimizer=dict(lr=2e-3)),
    param_scheduler=[
        dict(type='LinearLR', begin=0, end=20, start_factor=0.01, by_epoch=False),
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=120, milestones=[100], gamma=0.1),
    ],
    train_cfg=dict(_delete_=True, type='IterBasedTrainLoop', max_iters=120, val_interval=60),
    default_hooks=dict(
        checkpoint=dict(type='mmfish.AtomicCheckpointHook', interval=60, save_best=None)),
    log_processor=dict(by_epoch=False),  # iterations, not mmpose's epochs, in the progress lines
    auto_scale_lr=dict(enable=False))
