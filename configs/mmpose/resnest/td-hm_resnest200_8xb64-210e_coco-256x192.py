# mmpose's own config td-hm_resnest200_8xb64-210e_coco-256x192
# (top-down heatmaps on COCO keypoints, 73.1 AP in mmpose's zoo) with mmfish's ResNeSt-200,
# initialised from the converted ImageNet weights.
# The stem has the 128 channels of the official ResNeSt-101/200/269 (and of their ImageNet
# weights); mmpose's own config builds a 64-channel stem, which those weights do not fit.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest200_8xb64-210e_coco-256x192.py',
    '../../_base_/mmfish.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmfish.ResNeSt',
        depth=200,
        stem_channels=128,
        out_indices=(3, ),
        init_cfg=dict(type='Pretrained', prefix='backbone.',
                      checkpoint='mmfish://resnest200')))
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
