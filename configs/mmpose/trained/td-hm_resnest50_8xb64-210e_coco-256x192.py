# mmpose's trained td-hm_resnest50_8xb64-210e_coco-256x192 (AP 0.72, AR 0.775 on COCO): mmfish's
# ResNeSt-50 and mmpose's weights, converted.
# mim test mmpose configs/mmpose/trained/td-hm_resnest50_8xb64-210e_coco-256x192.py
#     --checkpoint mmfish://mmpose/td-hm_resnest50_8xb64-210e_coco-256x192
_base_ = '../resnest/td-hm_resnest50_8xb64-210e_coco-256x192.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmpose/td-hm_resnest50_8xb64-210e_coco-256x192'
