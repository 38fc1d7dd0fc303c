# make demo's detection twin: the tiny twin ../mmdet/mask-rcnn_resnest50_fpn_1xb4-150i_tiny-
# coco.py at a quarter of the width (ResNeSt-50 of 16 stem and base channels instead of 64;
# FPN, RPN and RoI heads of 64 channels instead of 256, box head FC of 256 instead of 1024),
# for 80 iterations.
_base_ = '../mmdet/mask-rcnn_resnest50_fpn_1xb4-150i_tiny-coco.py'
demo_iters = 80
demo_width = 64
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=demo_width),
    rpn_head=dict(in_channels=demo_width, feat_channels=demo_width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=demo_width),
        bbox_head=dict(in_channels=demo_width, conv_out_channels=demo_width,
                       fc_out_channels=256),
        mask_roi_extractor=dict(out_channels=demo_width),
        mask_head=dict(in_channels=demo_width, conv_out_channels=demo_width)))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=demo_iters, milestones=[65],
         gamma=0.1),
]
# no validation while training: the demo's `mim test` evaluates the last checkpoint
train_cfg = dict(max_iters=demo_iters, val_interval=demo_iters, val_begin=demo_iters + 1)
default_hooks = dict(checkpoint=dict(interval=demo_iters))
