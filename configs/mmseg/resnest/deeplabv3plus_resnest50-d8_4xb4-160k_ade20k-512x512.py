_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-160k_ade20k-512x512.py',
    '../_base_/resnest50-d8.py',
]
model = dict(pretrained=None, backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
