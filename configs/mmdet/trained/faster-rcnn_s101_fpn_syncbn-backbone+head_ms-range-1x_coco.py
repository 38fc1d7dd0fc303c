# mmdet's trained faster-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco (44.5 box AP on
# COCO): mmfish's ResNeSt-101 and mmdet's weights, converted.
# mim test mmdet configs/mmdet/trained/faster-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco.py
#     --checkpoint mmfish://mmdet/faster-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco
_base_ = '../resnest/faster-rcnn_resnest101_fpn_syncbn-backbone+head_ms-range-1x_coco.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmdet/faster-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco'
