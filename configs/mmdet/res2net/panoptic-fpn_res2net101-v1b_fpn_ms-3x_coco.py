# Res2Net-detectron2's Panoptic FPN Res2Net-101 3x (panoptic_fpn_R2_101_3x): mmdet's Panoptic
# FPN with mmfish's Res2Net-101 v1b; as detectron2's 3x recipe, the shorter side one of 640-800
# in steps of 32 and 36 epochs with steps at 28 and 33 (270k iterations of 16 images, steps at
# 210k and 250k); at test time, as detectron2's panoptic combination, instances above score 0.5
# and per-class NMS.
_base_ = [
    'mmdet::panoptic_fpn/panoptic-fpn_r50_fpn_ms-3x_coco.py',
    '../_base_/res2net101-v1b.py',
]
model = dict(
    backbone={{_base_.backbone}},
    test_cfg=dict(rcnn=dict(score_thr=0.5, nms=dict(class_agnostic=False))))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True,
         backend_args={{_base_.backend_args}}),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(640, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[28, 33], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
