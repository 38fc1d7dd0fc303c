# FishNet-150 for detection: the four pyramid levels (strides 4-32; channels 320, 832, 1600,
# 2112), frozen stem and first tail stage, BatchNorm frozen as in mmdet's ResNet-50 configs.
# ImageNet weights: mmfish://fishnet150 (the released file, fetched, verified and
# converted on first use; see docs/weights.md)
_base_ = '../../_base_/mmfish.py'
backbone = dict(
    _delete_=True,
    type='mmfish.FishNet',
    depth=150,
    out_indices=(0, 1, 2, 3),
    frozen_stages=1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,
    init_cfg=dict(type='Pretrained', prefix='backbone.',
                  checkpoint='mmfish://fishnet150'))

neck_in_channels = [320, 832, 1600, 2112]
