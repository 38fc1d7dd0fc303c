# detectron2-ResNeSt's Panoptic FPN ResNeSt-200 (panoptic_ResNeSt_200_FPN_syncBN_tricks_3x):
# mmdet's Panoptic FPN with Cascade R-CNN heads as mmdet's ResNeSt configs build them (three
# SyncBN 4conv1fc box heads with class-agnostic regression, 2000 proposals per image in
# training), SyncBN in the backbone, FPN and semantic head, ResNeSt mean and std, the shorter
# side 400-1000 with the longer at most 1440, 36 epochs with steps at 32 and 34 (detectron2:
# 270k iterations of 16 images, steps at 240k and 255k). At test time, as detectron2's
# panoptic combination: instances above score 0.5, per-class NMS.
_base_ = [
    'mmdet::panoptic_fpn/panoptic-fpn_r50_fpn_ms-3x_coco.py',
    '../_base_/resnest200.py',
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
# target_stds of the three cascade stages, and their IoU thresholds
cascade_stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]]
cascade_ious = [0.5, 0.6, 0.7]
model = dict(
    data_preprocessor=dict(mean=[123.68, 116.779, 103.939], std=[58.393, 57.12, 57.375]),
    backbone={{_base_.backbone}},
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        _delete_=True,
        type='CascadeRoIHead',
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=[
            dict(
                type='Shared4Conv1FCBBoxHead',
                in_channels=256,
                conv_out_channels=256,
                fc_out_channels=1024,
                norm_cfg=norm_cfg,
                roi_feat_size=7,
                num_classes=80,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                                target_stds=stds),
                reg_class_agnostic=True,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
            for stds in cascade_stds
        ],
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=4,
            in_channels=256,
            conv_out_channels=256,
            num_classes=80,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    semantic_head=dict(norm_cfg=dict(_delete_=True, **norm_cfg)),
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=2000),
        rcnn=[
            dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=iou, neg_iou_thr=iou,
                              min_pos_iou=iou, match_low_quality=False, ignore_iof_thr=-1),
                sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                             add_gt_as_proposals=True),
                mask_size=28,
                pos_weight=-1,
                debug=False) for iou in cascade_ious
        ]),
    test_cfg=dict(rcnn=dict(score_thr=0.5, nms=dict(class_agnostic=False))))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True,
         backend_args={{_base_.backend_args}}),
    dict(type='RandomResize', scale=[(1440, 400), (1440, 1000)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[32, 34], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
