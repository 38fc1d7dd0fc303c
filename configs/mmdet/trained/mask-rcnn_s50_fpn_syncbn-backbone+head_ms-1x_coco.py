# mmdet's trained mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco (42.6 box AP, 38.1 mask AP
# on COCO): mmfish's ResNeSt-50 and mmdet's weights, converted.
# mim test mmdet configs/mmdet/trained/mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco.py
#     --checkpoint mmfish://mmdet/mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco
_base_ = '../resnest/mask-rcnn_resnest50_fpn_syncbn-backbone+head_ms-1x_coco.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmdet/mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco'
