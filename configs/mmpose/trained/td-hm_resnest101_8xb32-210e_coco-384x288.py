# mmpose's trained td-hm_resnest101_8xb32-210e_coco-384x288 (AP 0.745, AR 0.798 on COCO):
# mmfish's ResNeSt-101 and mmpose's weights, converted.
# mim test mmpose configs/mmpose/trained/td-hm_resnest101_8xb32-210e_coco-384x288.py
#     --checkpoint mmfish://mmpose/td-hm_resnest101_8xb32-210e_coco-384x288
# mmpose's config sets only the depth: a 64-channel stem (_base_/resnest101.py).
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest101_8xb32-210e_coco-384x288.py',
    '_base_/resnest101.py',
]
model = dict(backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
load_from = 'mmfish://mmpose/td-hm_resnest101_8xb32-210e_coco-384x288'
