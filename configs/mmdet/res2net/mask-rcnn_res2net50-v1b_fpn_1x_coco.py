_base_ = './mask-rcnn_res2net101-v1b_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=50,
        init_cfg=dict(checkpoint='checkpoints/res2net50-v1b-w26-s4_mmfish.pth')))
# checkpoints are written to a temporary file and renamed when complete, so a killed job
# never leaves a half-written one (mmfish/engine/checkpoint.py)
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
