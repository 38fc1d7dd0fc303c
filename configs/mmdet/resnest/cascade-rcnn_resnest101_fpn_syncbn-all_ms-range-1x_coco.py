_base_ = './cascade-rcnn_resnest50_fpn_syncbn-all_ms-range-1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        stem_channels=128,
        init_cfg=dict(checkpoint='mmfish://resnest101')))
