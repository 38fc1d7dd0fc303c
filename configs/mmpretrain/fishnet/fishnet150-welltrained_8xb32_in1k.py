# FishNet-150 "welltrained" (fishnet150_ckpt_welltrained.tar, 79.35 top-1): the official
# README's second recipe, "cosine lr schedule (200 epochs) and label smoothing"; the rest as
# fishnet150_8xb32_in1k.py (batch 256, SGD lr 0.1, the same augmentation). The README states
# neither the smoothing value nor a warm-up: 0.1 and none here.
_base_ = './fishnet150_8xb32_in1k.py'

model = dict(
    head=dict(loss=dict(_delete_=True, type='LabelSmoothLoss', label_smooth_val=0.1,
                        num_classes=1000, reduction='mean', loss_weight=1.0)))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200)]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
