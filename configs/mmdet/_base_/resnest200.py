# ResNeSt-200 for detection: the ResNeSt-50 piece with 200 layers and the 128-channel stem of
# the released ImageNet weights.
# ImageNet weights: mmfish://resnest200 (the released file, fetched, verified and
# converted on first use; see docs/weights.md)
_base_ = './resnest50.py'
backbone = dict(
    depth=200,
    stem_channels=128,
    init_cfg=dict(checkpoint='mmfish://resnest200'))
