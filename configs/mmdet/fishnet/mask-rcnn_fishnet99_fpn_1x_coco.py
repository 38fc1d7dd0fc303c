_base_ = './mask-rcnn_fishnet150_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=99, init_cfg=dict(checkpoint='checkpoints/fishnet99_mmfish.pth')))
# checkpoints are written to a temporary file and renamed when complete, so a killed job
# never leaves a half-written one (mmfish/engine/checkpoint.py)
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
