_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/fishnet150.py',
]
model = dict(
    pretrained=None,
    backbone={{_base_.backbone}},
    decode_head={{_base_.decode_plus_in}},
    auxiliary_head={{_base_.auxiliary_in}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
