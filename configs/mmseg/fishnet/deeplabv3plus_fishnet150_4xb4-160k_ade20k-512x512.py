_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-160k_ade20k-512x512.py',
    '../_base_/fishnet150.py',
]
model = dict(
    pretrained=None,
    backbone={{_base_.backbone}},
    decode_head={{_base_.decode_plus_in}},
    auxiliary_head={{_base_.auxiliary_in}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
