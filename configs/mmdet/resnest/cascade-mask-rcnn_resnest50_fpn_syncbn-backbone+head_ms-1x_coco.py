# mmdet's own ResNeSt-50 cascade-mask-rcnn config (SyncBN backbone and heads, 4conv1fc box head,
# ResNeSt mean and std, multi-scale training) with mmfish's ResNeSt.
_base_ = [
    'mmdet::resnest/cascade-mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco.py',
    '../_base_/resnest50.py',
]
model = dict(backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
