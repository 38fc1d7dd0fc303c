# Res2NeXt-DLA-60 (the official res2next_dla60): Res2Net-DLA-60 with grouped split
# convolutions (8 groups of 4 channels per split in level2, 4 scales).
_base_ = './res2net-dla60_8xb32_in1k.py'
model = dict(backbone=dict(groups=8, base_width=4))
