# Res2Net-50 v1b (26w x 4s) for segmentation at output stride 8, SyncBN.
# ImageNet weights: mmfish://res2net50-v1b-w26-s4 (the released file, fetched, verified and
# converted on first use; see docs/weights.md)
_base_ = '../../_base_/mmfish.py'
backbone = dict(
    _delete_=True,
    type='mmfish.Res2Net',
    depth=50,
    scales=4,
    base_width=26,
    deep_stem=True,
    avg_down=True,
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    contract_dilation=True,
    out_indices=(0, 1, 2, 3),
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False,
    init_cfg=dict(type='Pretrained', prefix='backbone.',
                  checkpoint='mmfish://res2net50-v1b-w26-s4'))

