# mmpose's ResNet-50 config td-hm_res50_8xb64-210e_coco-256x192 (top-down heatmaps on COCO
# keypoints) with mmfish's FishNet-150 in place of the ResNet: the heatmap head takes FishNet's
# last level (2112 channels at stride 32), as it takes ResNet's. Initialised from the converted
# ImageNet weights. No published pose figure: FishNet's authors released no pose model.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py',
    '../../_base_/mmfish.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmfish.FishNet',
        depth=150,
        out_indices=(3, ),
        init_cfg=dict(type='Pretrained', prefix='backbone.',
                      checkpoint='mmfish://fishnet150')),
    head=dict(in_channels=2112))
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
