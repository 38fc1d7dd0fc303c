# mmdet's trained mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco (45.2 box AP, 40.2 mask AP
# on COCO): mmfish's ResNeSt-101 and mmdet's weights, converted.
# mim test mmdet configs/mmdet/trained/mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco.py
#     --checkpoint mmfish://mmdet/mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco
_base_ = '../resnest/mask-rcnn_resnest101_fpn_syncbn-backbone+head_ms-1x_coco.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmdet/mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco'
