_base_ = './mask-rcnn_res2net101-v1b_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=50,
        init_cfg=dict(checkpoint='mmfish://res2net50-v1b-w26-s4')))
