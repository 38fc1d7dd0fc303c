# Res2Net-v1b: deep stem (three 3x3 convs) and avg-down shortcuts (ResNet-D style).
_base_ = './res2net50-w26-s4_8xb32_in1k.py'
model = dict(backbone=dict(depth=101, deep_stem=True, avg_down=True))
