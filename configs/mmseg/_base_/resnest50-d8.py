# ResNeSt-50 for segmentation at output stride 8 (strides 1, 2, 1, 1; dilations 1, 1, 2, 4,
# the first block of a dilated stage at half dilation), SyncBN, as mmseg's resnest configs.
# ImageNet weights: mmfish://resnest50 (the released file, fetched, verified and
# converted on first use; see docs/weights.md)
_base_ = '../../_base_/mmfish.py'
backbone = dict(
    _delete_=True,
    type='mmfish.ResNeSt',
    depth=50,
    stem_channels=64,
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    contract_dilation=True,
    out_indices=(0, 1, 2, 3),
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False,
    init_cfg=dict(type='Pretrained', prefix='backbone.',
                  checkpoint='mmfish://resnest50'))

