# ResNeSt-200 for detection: the ResNeSt-50 piece with 200 layers and the 128-channel stem of
# the released ImageNet weights.
# ImageNet weights: python -m mmfish.convert resnest200-75117900.pth \
#     checkpoints/resnest200_mmfish.pth
_base_ = './resnest50.py'
backbone = dict(
    depth=200,
    stem_channels=128,
    init_cfg=dict(checkpoint='checkpoints/resnest200_mmfish.pth'))
