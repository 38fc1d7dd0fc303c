# mmpose's own config td-hm_resnest50_8xb64-210e_coco-256x192
# (top-down heatmaps on COCO keypoints, 72.0 AP in mmpose's zoo) with mmfish's ResNeSt-50,
# initialised from the converted ImageNet weights.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest50_8xb64-210e_coco-256x192.py',
    '../../_base_/mmfish.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmfish.ResNeSt',
        depth=50,
        stem_channels=64,
        out_indices=(3, ),
        init_cfg=dict(type='Pretrained', prefix='backbone.',
                      checkpoint='mmfish://resnest50')))
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
