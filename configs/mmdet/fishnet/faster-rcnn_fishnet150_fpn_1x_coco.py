_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/fishnet150.py',
]
model = dict(
    backbone={{_base_.backbone}},
    neck=dict(in_channels={{_base_.neck_in_channels}}))
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
