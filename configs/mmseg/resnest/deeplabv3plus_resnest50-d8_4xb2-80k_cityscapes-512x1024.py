_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/resnest50-d8.py',
]
model = dict(pretrained=None, backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
