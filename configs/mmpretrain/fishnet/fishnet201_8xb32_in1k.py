_base_ = './fishnet150_8xb32_in1k.py'
model = dict(backbone=dict(depth=201))
