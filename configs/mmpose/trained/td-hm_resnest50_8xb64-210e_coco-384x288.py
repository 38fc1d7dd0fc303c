# mmpose's trained td-hm_resnest50_8xb64-210e_coco-384x288 (AP 0.737, AR 0.789 on COCO):
# mmfish's ResNeSt-50 and mmpose's weights, converted.
# mim test mmpose configs/mmpose/trained/td-hm_resnest50_8xb64-210e_coco-384x288.py
#     --checkpoint mmfish://mmpose/td-hm_resnest50_8xb64-210e_coco-384x288
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest50_8xb64-210e_coco-384x288.py',
    '../../_base_/mmfish.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmfish.ResNeSt',
        depth=50,
        stem_channels=64,
        out_indices=(3, ),
        init_cfg=None))
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
load_from = 'mmfish://mmpose/td-hm_resnest50_8xb64-210e_coco-384x288'
