# Tiny twin of mmdet's Panoptic FPN (panoptic_fpn/panoptic-fpn_r50_fpn_1x_coco.py) with mmfish's
# ResNeSt-50 (configs/mmdet/_base_/resnest50.py) for CPU runs: the full model and recipe, with
# the data, input size, schedule and evaluation of _base_/tiny_coco_panoptic.py (its
# `tiny_overrides`, merged into the full config's keys as if written here).
_base_ = [
    'mmdet::panoptic_fpn/panoptic-fpn_r50_fpn_1x_coco.py',
    '../../_base_/mmfish.py',  # import mmfish: its ResNeSt
    '../_base_/tiny_coco_panoptic.py',
]
globals().update(_base_.tiny_overrides)
model = dict(
    _base_.tiny_overrides.model,  # the class counts and the proposals of the tiny images
    # configs/mmdet/_base_/resnest50.py's backbone, from scratch (no converted ImageNet weights
    # here), so nothing is frozen: neither the stem and first stage nor the BatchNorm statistics
    # (tests/test_e2e_panoptic.py checks it against that file)
    backbone=dict(
        _delete_=True,
        type='mmfish.ResNeSt',
        depth=50,
        stem_channels=64,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        init_cfg=_base_.tiny_backbone_init))
