_base_ = './mask-rcnn_fishnet150_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=99, init_cfg=dict(checkpoint='mmfish://fishnet99')))
