# Tiny twin of configs/mmpose/resnest/td-hm_resnest50_8xb64-210e_coco-256x192.py
# for CPU runs: the full model and recipe; the data, input size, schedule and evaluation of
# _base_/tiny_coco_pose.py.
_base_ = [
    '../../mmpose/resnest/td-hm_resnest50_8xb64-210e_coco-256x192.py',
    '../_base_/tiny_coco_pose.py',
]
model = dict(
    backbone=dict(init_cfg=None),  # from scratch: no converted ImageNet weights here
    head=dict(decoder={{_base_.tiny_codec}}),
    test_cfg=dict(flip_test=False))
codec = {{_base_.tiny_codec}}
train_dataloader = {{_base_.tiny_train_dataloader}}
val_dataloader = {{_base_.tiny_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.tiny_val_evaluator}}
test_evaluator = val_evaluator
optim_wrapper = {{_base_.tiny_optim_wrapper}}
param_scheduler = {{_base_.tiny_param_scheduler}}
train_cfg = {{_base_.tiny_train_cfg}}
default_hooks = {{_base_.tiny_default_hooks}}
custom_hooks = {{_base_.tiny_custom_hooks}}
randomness = {{_base_.tiny_randomness}}
log_processor = {{_base_.tiny_log_processor}}
auto_scale_lr = dict(enable=False)
