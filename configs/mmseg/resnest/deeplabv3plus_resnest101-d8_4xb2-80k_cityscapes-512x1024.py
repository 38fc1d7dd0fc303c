_base_ = './deeplabv3plus_resnest50-d8_4xb2-80k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(
        depth=101,
        stem_channels=128,
        init_cfg=dict(checkpoint='mmfish://resnest101')))
