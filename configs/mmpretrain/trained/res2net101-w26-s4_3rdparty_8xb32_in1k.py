# mmpretrain's trained res2net101-w26-s4_3rdparty_8xb32_in1k (79.19 Top 1 Accuracy on
# ImageNet-1k): mmfish's Res2Net and mmpretrain's weights, converted.
# mim test mmpretrain configs/mmpretrain/trained/res2net101-w26-s4_3rdparty_8xb32_in1k.py
#     --checkpoint mmfish://mmpretrain/res2net101-w26-s4_3rdparty_8xb32_in1k
_base_ = '../res2net/res2net101-w26-s4_8xb32_in1k.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmpretrain/res2net101-w26-s4_3rdparty_8xb32_in1k'
