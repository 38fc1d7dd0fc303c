_base_ = './mask-rcnn_fishnet150_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=99, init_cfg=dict(checkpoint='checkpoints/fishnet99_mmfish.pth')))
