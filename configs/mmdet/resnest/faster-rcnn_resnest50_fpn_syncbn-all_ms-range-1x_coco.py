# detectron2-ResNeSt's Faster R-CNN ResNeSt-50 (faster_rcnn_ResNeSt_50_FPN_syncbn_range-scale_1x):
# mmdet's ResNeSt-50 faster-rcnn config (SyncBN backbone and 4conv1fc box head, ResNeSt mean
# and std, shorter side 640-800) with mmfish's ResNeSt and, as detectron2-ResNeSt, SyncBN in
# the FPN too.
_base_ = [
    'mmdet::resnest/faster-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
    '../_base_/resnest50.py',
]
model = dict(
    backbone={{_base_.backbone}},
    neck=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)))
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
