# Tiny twin of configs/mmdet/resnest/mask-rcnn_resnest50_fpn_syncbn-backbone+head_ms-1x_coco.py
# for CPU runs: the full model and recipe; the data, input size, schedule and evaluation
# of _base_/tiny_coco.py.
_base_ = [
    '../../mmdet/resnest/mask-rcnn_resnest50_fpn_syncbn-backbone+head_ms-1x_coco.py',
    '../_base_/tiny_coco.py',
]
model = dict(
    # from scratch (no converted ImageNet weights here), so nothing is frozen: neither the
    # stem and first stage nor the BatchNorm statistics (they would keep their initial values)
    backbone=dict(
        init_cfg={{_base_.tiny_backbone_init}}, frozen_stages=-1, norm_eval=False),
    roi_head=dict(bbox_head=dict(num_classes=3), mask_head=dict(num_classes=3)),
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
