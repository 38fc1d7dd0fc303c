_base_ = './deeplabv3_resnest50-d8_4xb4-160k_ade20k-512x512.py'
model = dict(
    backbone=dict(
        depth=101,
        stem_channels=128,
        init_cfg=dict(checkpoint='mmfish://resnest101')))
