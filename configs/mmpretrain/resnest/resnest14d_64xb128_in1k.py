# ResNeSt-14 (GluonCV's weights, released by timm as resnest14d): ResNeSt-50 with one block
# per stage. The recipe is the official ResNeSt-50 one (GluonCV's own is not reproduced).
_base_ = './resnest50_64xb128_in1k.py'
model = dict(backbone=dict(depth=14))
