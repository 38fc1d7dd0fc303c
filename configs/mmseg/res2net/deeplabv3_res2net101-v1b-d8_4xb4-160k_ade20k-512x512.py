_base_ = './deeplabv3_res2net50-v1b-d8_4xb4-160k_ade20k-512x512.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(checkpoint='mmfish://res2net101-v1b-w26-s4')))
