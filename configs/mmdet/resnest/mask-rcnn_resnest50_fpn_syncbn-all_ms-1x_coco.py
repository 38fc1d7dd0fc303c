# detectron2-ResNeSt's Mask R-CNN ResNeSt-50 (mask_rcnn_ResNeSt_50_FPN_syncBN_1x): mmdet's
# ResNeSt-50 mask-rcnn config (SyncBN backbone, 4conv1fc box head and mask head, ResNeSt mean
# and std, shorter side one of 640-800 in steps of 32) with mmfish's ResNeSt and, as
# detectron2-ResNeSt, SyncBN in the FPN too.
_base_ = [
    'mmdet::resnest/mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco.py',
    '../_base_/resnest50.py',
]
model = dict(
    backbone={{_base_.backbone}},
    neck=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)))
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
