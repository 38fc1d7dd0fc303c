_base_ = [
    'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-160k_ade20k-512x512.py',
    '../_base_/resnest50-d8.py',
]
model = dict(pretrained=None, backbone={{_base_.backbone}})
# checkpoints are written to a temporary file and renamed when complete, so a killed job
# never leaves a half-written one (mmfish/engine/checkpoint.py)
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
