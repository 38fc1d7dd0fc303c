# mmpose's trained td-hm_resnest269_8xb32-210e_coco-256x192 (AP 0.737, AR 0.792 on COCO):
# mmfish's ResNeSt-269 and mmpose's weights, converted.
# mim test mmpose configs/mmpose/trained/td-hm_resnest269_8xb32-210e_coco-256x192.py
#     --checkpoint mmfish://mmpose/td-hm_resnest269_8xb32-210e_coco-256x192
# mmpose's config sets only the depth: a 64-channel stem (_base_/resnest269.py).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest269_8xb32-210e_coco-256x192.py',
    '_base_/resnest269.py',
]
model = dict(backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
load_from = 'mmfish://mmpose/td-hm_resnest269_8xb32-210e_coco-256x192'
