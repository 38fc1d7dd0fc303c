# ResNeSt-50 for detection, as mmdet's resnest configs: SyncBN in the backbone (trained),
# frozen stem and first stage.
# ImageNet weights: python -m mmfish.convert resnest50-528c19ca.pth \
#     checkpoints/resnest50_mmfish.pth
_base_ = '../../_base_/mmfish.py'
backbone = dict(
    _delete_=True,
    type='mmfish.ResNeSt',
    depth=50,
    stem_channels=64,
    out_indices=(0, 1, 2, 3),
    frozen_stages=1,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False,
    init_cfg=dict(type='Pretrained', prefix='backbone.',
                  checkpoint='checkpoints/resnest50_mmfish.pth'))

