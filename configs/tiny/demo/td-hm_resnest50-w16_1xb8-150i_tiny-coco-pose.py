# make demo's pose twin: the tiny twin ../mmpose/td-hm_resnest50_1xb8-120i_tiny-coco-pose.py at a
# quarter of the width (ResNeSt-50 of 16 stem and base channels instead of 64, so 512 output
# channels; heatmap head deconvolutions of 64 channels instead of 256), for 150 iterations.
_base_ = '../mmpose/td-hm_resnest50_1xb8-120i_tiny-coco-pose.py'
demo_iters = 150
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    head=dict(in_channels=512, deconv_out_channels=(64, 64, 64)))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=10, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=demo_iters - 10, by_epoch=False, begin=10,
         end=demo_iters),
]
# no validation while training: the demo's `mim test` evaluates the last checkpoint
train_cfg = dict(max_iters=demo_iters, val_interval=demo_iters, val_begin=demo_iters + 1)
default_hooks = dict(checkpoint=dict(interval=demo_iters))
