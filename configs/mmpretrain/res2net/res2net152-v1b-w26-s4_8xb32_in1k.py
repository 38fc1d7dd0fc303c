# Res2Net-v1b-152 (official builder res2net152_v1b_26w_4s; no released weights).
_base_ = './res2net50-v1b-w26-s4_8xb32_in1k.py'
model = dict(backbone=dict(depth=152))
