# Res2Net-101 as mmdet's trained Res2Net detectors have it: the zoo piece, without the average
# pool of the last split in the first block of layer1 (mmdet's Bottle2neck), and no ImageNet
# weights (the whole detector comes from load_from).
_base_ = '../../_base_/res2net101-v1b.py'
backbone = dict(split_style='mmdet', init_cfg=None)
