# mmpose's ResNet-50 config td-hm_res50_8xb64-210e_coco-256x192 (top-down heatmaps on COCO
# keypoints) with mmfish's Res2Net-50 v1b (26w x 4s) in place of the ResNet, initialised from the
# converted ImageNet weights. No published pose figure: mmpose has no Res2Net model.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py',
    '../../_base_/mmfish.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmfish.Res2Net',
        depth=50,
        scales=4,
        base_width=26,
        deep_stem=True,
        avg_down=True,
        out_indices=(3, ),
        init_cfg=dict(type='Pretrained', prefix='backbone.',
                      checkpoint='mmfish://res2net50-v1b-w26-s4')))
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
