# detectron2-ResNeSt's Cascade Mask R-CNN ResNeSt-50 (mask_cascade_rcnn_ResNeSt_50_FPN_syncBN_1x):
# mmdet's ResNeSt-50 cascade-mask-rcnn config (SyncBN backbone, 4conv1fc box heads and mask
# head, class-agnostic regression, 2000 proposals per image in training, ResNeSt mean and std,
# shorter side one of 640-800 in steps of 32) with mmfish's ResNeSt and, as detectron2-ResNeSt,
# SyncBN in the FPN too.
_base_ = [
    'mmdet::resnest/cascade-mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco.py',
    '../_base_/resnest50.py',
]
model = dict(
    backbone={{_base_.backbone}},
    neck=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)))
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
