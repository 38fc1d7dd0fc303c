# ResNeSt-50-fast 1s4x24d (official ablation model resnest50_fast_1s4x24d): radix 1, 4
# cardinal groups, width 24, the avd pool before the split-attention conv.
_base_ = './resnest50_64xb128_in1k.py'
model = dict(backbone=dict(radix=1, groups=4, base_width=24, avd_first=True))
