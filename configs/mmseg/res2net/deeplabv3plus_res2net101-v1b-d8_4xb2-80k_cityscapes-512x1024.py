_base_ = './deeplabv3plus_res2net50-v1b-d8_4xb2-80k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(checkpoint='mmfish://res2net101-v1b-w26-s4')))
