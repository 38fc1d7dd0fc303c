# Res2Net-DLA-60 (the official res2net_dla60 of Res2Net/Res2Net-PretrainedModels, dla.py) on
# ImageNet-1k with the Res2Net recipe of res2net50-w26-s4_8xb32_in1k.py (batch 256, 224 crops);
# only the backbone and the classifier's input channels (1024) differ.
_base_ = '../res2net/res2net50-w26-s4_8xb32_in1k.py'
model = dict(
    backbone=dict(_delete_=True, type='mmfish.Res2NetDLA', depth=60, out_indices=(3, )),
    head=dict(in_channels=1024))
