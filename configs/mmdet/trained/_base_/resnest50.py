# ResNeSt-50 as mmdet's trained ResNeSt detectors have it (the zoo piece), with no ImageNet
# weights (the whole detector comes from load_from).
_base_ = '../../_base_/resnest50.py'
backbone = dict(init_cfg=None)
