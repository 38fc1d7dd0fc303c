# Res2NeXt-50: Res2Net-50 with grouped split convolutions (8 groups of 4 channels, 4 scales).
_base_ = './res2net50-w26-s4_8xb32_in1k.py'
model = dict(backbone=dict(scales=4, base_width=4, groups=8))
