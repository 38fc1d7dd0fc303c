# Tiny twin of configs/mmpretrain/resnest/resnest50_64xb128_in1k.py
# for CPU runs: the full model and recipe; the data, input size, schedule and evaluation
# of _base_/tiny_imagenet.py.
_base_ = [
    '../../mmpretrain/resnest/resnest50_64xb128_in1k.py',
    '../_base_/tiny_imagenet.py',
]
model = dict(
    data_preprocessor=dict(num_classes=3),  # for the recipe's Mixup
    head=dict(num_classes=3, topk=(1, ), loss=dict(num_classes=3)))

train_dataloader = {{_base_.tiny_train_dataloader}}
val_dataloader = {{_base_.tiny_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.tiny_evaluator}}
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr={{_base_.tiny_lr}}))
param_scheduler = {{_base_.tiny_param_scheduler}}
train_cfg = {{_base_.tiny_train_cfg}}
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = {{_base_.tiny_default_hooks}}
custom_hooks = {{_base_.tiny_custom_hooks}}
randomness = {{_base_.tiny_randomness}}
log_processor = dict(by_epoch=False)
