# detectron2-ResNeSt's Cascade Mask R-CNN ResNeSt-200 with "all tricks", 3x
# (mask_cascade_rcnn_ResNeSt_200_FPN_syncBN_all_tricks_3x): a random crop of 90-100% of each
# side (boxes recomputed from the masks), then the shorter side 640-864 with the longer at most
# 1440; an 8-conv mask head; 36 epochs with steps at 32 and 34 (detectron2: 270k iterations of
# 16 images, steps at 240k and 255k).
_base_ = './cascade-mask-rcnn_resnest50_fpn_syncbn-all_ms-1x_coco.py'
model = dict(
    backbone=dict(
        depth=200,
        stem_channels=128,
        init_cfg=dict(checkpoint='mmfish://resnest200')),
    roi_head=dict(mask_head=dict(num_convs=8)))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='RandomCrop', crop_type='relative_range', crop_size=(0.9, 0.9),
         recompute_bbox=True),
    dict(type='RandomResize', scale=[(1440, 640), (1440, 864)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[32, 34],
         gamma=0.1),
]
