# Tiny twin of mmdet's Panoptic FPN (panoptic_fpn/panoptic-fpn_r50_fpn_1x_coco.py) with mmfish's
# ResNeSt-50 (configs/mmdet/_base_/resnest50.py) for CPU runs: the full model and recipe; the
# data, input size, schedule and evaluation of _base_/tiny_coco_panoptic.py.
_base_ = [
    'mmdet::panoptic_fpn/panoptic-fpn_r50_fpn_1x_coco.py',
    '../../_base_/mmfish.py',  # import mmfish: its ResNeSt
    '../_base_/tiny_coco_panoptic.py',
]
model = dict(
    # configs/mmdet/_base_/resnest50.py's backbone, from scratch (no converted ImageNet weights
    # here), so nothing is frozen: neither the stem and first stage nor the BatchNorm statistics
    # (tests/test_e2e_panoptic.py checks it against that file)
    backbone=dict(
        _delete_=True,
        type='mmfish.ResNeSt',
        depth=50,
        stem_channels=64,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg={{_base_.tiny_backbone_init}}),
    roi_head=dict(bbox_head=dict(num_classes={{_base_.tiny_num_things}}),
                  mask_head=dict(num_classes={{_base_.tiny_num_things}})),
    semantic_head=dict(num_things_classes={{_base_.tiny_num_things}},
                       num_stuff_classes={{_base_.tiny_num_stuff}}),
    panoptic_fusion_head=dict(num_things_classes={{_base_.tiny_num_things}},
                              num_stuff_classes={{_base_.tiny_num_stuff}}),
    train_cfg={{_base_.tiny_model_train_cfg}},
    test_cfg={{_base_.tiny_model_test_cfg}})

train_dataloader = {{_base_.tiny_train_dataloader}}
val_dataloader = {{_base_.tiny_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.tiny_evaluator}}
test_evaluator = val_evaluator
optim_wrapper = {{_base_.tiny_optim_wrapper}}
param_scheduler = {{_base_.tiny_param_scheduler}}
train_cfg = {{_base_.tiny_train_cfg}}
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = {{_base_.tiny_default_hooks}}
custom_hooks = {{_base_.tiny_custom_hooks}}
randomness = {{_base_.tiny_randomness}}
log_processor = dict(by_epoch=False)
