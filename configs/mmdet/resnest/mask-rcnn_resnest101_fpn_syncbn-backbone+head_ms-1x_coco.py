_base_ = './mask-rcnn_resnest50_fpn_syncbn-backbone+head_ms-1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        stem_channels=128,
        init_cfg=dict(checkpoint='checkpoints/resnest101_mmfish.pth')))
# checkpoints are written to a temporary file and renamed when complete, so a killed job
# never leaves a half-written one (mmfish/engine/checkpoint.py)
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
