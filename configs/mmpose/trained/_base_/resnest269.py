# ResNeSt-269 as mmpose's trained pose models have it: mmpose's configs set only the
# depth, so the stem has 64 channels (the official ResNeSt-269, and mmfish's pose configs,
# have 128); no ImageNet weights (the whole model comes from load_from).
_base_ = '../../../_base_/mmfish.py'
backbone = dict(
    _delete_=True,
    type='mmfish.ResNeSt',
    depth=269,
    stem_channels=64,
    out_indices=(3, ),
    init_cfg=None)
