# Res2Net-101 v1b (26w x 4s, deep stem, avg-down) for detection, as mmdet's res2net configs.
# ImageNet weights: mmfish://res2net101-v1b-w26-s4 (the released file, fetched, verified and
# converted on first use; see docs/weights.md)
_base_ = '../../_base_/mmfish.py'
backbone = dict(
    _delete_=True,
    type='mmfish.Res2Net',
    depth=101,
    scales=4,
    base_width=26,
    deep_stem=True,
    avg_down=True,
    out_indices=(0, 1, 2, 3),
    frozen_stages=1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,
    init_cfg=dict(type='Pretrained', prefix='backbone.',
                  checkpoint='mmfish://res2net101-v1b-w26-s4'))

