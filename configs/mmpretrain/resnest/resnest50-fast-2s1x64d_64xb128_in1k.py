# ResNeSt-50-fast 2s1x64d (official ablation model resnest50_fast_2s1x64d): radix 2, 1
# cardinal groups, width 64, the avd pool before the split-attention conv.
_base_ = './resnest50_64xb128_in1k.py'
model = dict(backbone=dict(radix=2, groups=1, base_width=64, avd_first=True))
