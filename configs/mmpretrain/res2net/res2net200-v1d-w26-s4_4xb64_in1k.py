# Res2Net-200-vd (26w x 4s), PaddleClas' Res2Net200_vd_26w_4s: the deep stem and avg-down
# shortcuts of v1b, with PaddleClas' split style (only strided blocks split without hierarchy;
# their pool leaves the padding out). Its ImageNet-1k recipe (Res2Net200_vd_26w_4s.yaml):
# batch 256 (4 x 64), SGD lr 0.1, momentum 0.9, weight decay 1e-4, cosine over 200 epochs,
# label smoothing 0.1, mixup 0.2; test: resize 256, center crop 224 (as the base). The
# released Res2Net200_vd_26w_4s_ssld weights were then distilled (SSLD), which this config
# does not do.
_base_ = './res2net50-w26-s4_8xb32_in1k.py'
model = dict(
    backbone=dict(depth=200, deep_stem=True, avg_down=True, split_style='paddle'),
    head=dict(loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
    train_cfg=dict(augments=dict(type='Mixup', alpha=0.2)))
train_dataloader = dict(batch_size=64)
param_scheduler = dict(
    _delete_=True, type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
