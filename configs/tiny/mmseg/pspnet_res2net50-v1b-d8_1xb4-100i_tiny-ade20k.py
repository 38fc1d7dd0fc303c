# Tiny twin of configs/mmseg/res2net/pspnet_res2net50-v1b-d8_4xb4-160k_ade20k-512x512.py
# for CPU runs: the full model and recipe; the data, input size, schedule and evaluation
# of _base_/tiny_ade20k.py.
_base_ = [
    '../../mmseg/res2net/pspnet_res2net50-v1b-d8_4xb4-160k_ade20k-512x512.py',
    '../_base_/tiny_ade20k.py',
]
model = dict(
    data_preprocessor=dict(size={{_base_.tiny_crop_size}}),
    backbone=dict(init_cfg=None),  # from scratch: no converted ImageNet weights here
    decode_head=dict(num_classes={{_base_.tiny_num_classes}}),
    auxiliary_head=dict(num_classes={{_base_.tiny_num_classes}}))

train_dataloader = {{_base_.tiny_train_dataloader}}
val_dataloader = {{_base_.tiny_val_dataloader}}
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr={{_base_.tiny_lr}}))
param_scheduler = {{_base_.tiny_param_scheduler}}
train_cfg = {{_base_.tiny_train_cfg}}
default_hooks = {{_base_.tiny_default_hooks}}
custom_hooks = {{_base_.tiny_custom_hooks}}
randomness = {{_base_.tiny_randomness}}
