# FishNet-150 for segmentation, SyncBN. FishNet keeps every resolution without dilation: the
# decode head reads level 1 (stride 8, 832 channels: the first head stage, which carries the
# body's deep features), the auxiliary head level 0 (stride 4, 320 channels).
# ImageNet weights: mmfish://fishnet150 (the released file, fetched, verified and
# converted on first use; see docs/weights.md)
_base_ = '../../_base_/mmfish.py'
backbone = dict(
    _delete_=True,
    type='mmfish.FishNet',
    depth=150,
    out_indices=(0, 1, 2, 3),
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False,
    init_cfg=dict(type='Pretrained', prefix='backbone.',
                  checkpoint='mmfish://fishnet150'))

decode_in = dict(in_channels=832, in_index=1)
# DeepLabV3+: its decoder also reads level 0 (stride 4, 320 channels) as the low-level feature
decode_plus_in = dict(in_channels=832, in_index=1, c1_in_channels=320)
auxiliary_in = dict(in_channels=320, in_index=0)
