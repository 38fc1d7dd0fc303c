_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '../_base_/res2net101-v1b.py',
]
model = dict(backbone={{_base_.backbone}})
# checkpoints are written to a temporary file and renamed when complete, so a killed job
# never leaves a half-written one (mmfish/engine/checkpoint.py)
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
