# ResNeSt-50-fast 4s2x40d (official ablation model resnest50_fast_4s2x40d): radix 4, 2
# cardinal groups, width 40, the avd pool before the split-attention conv.
_base_ = './resnest50_64xb128_in1k.py'
model = dict(backbone=dict(radix=4, groups=2, base_width=40, avd_first=True))
