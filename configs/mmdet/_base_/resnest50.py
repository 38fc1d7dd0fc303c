# ResNeSt-50 for detection, as mmdet's resnest configs: SyncBN in the backbone (trained),
# frozen stem and first stage.
# ImageNet weights: mmfish://resnest50 (the released file, fetched, verified and
# converted on first use; see docs/weights.md)
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
                  checkpoint='mmfish://resnest50'))

