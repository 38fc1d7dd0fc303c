_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '../_base_/res2net101-v1b.py',
]
model = dict(backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
