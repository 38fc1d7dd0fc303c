# mmdet's trained cascade-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco (46.8 box AP on
# COCO): mmfish's ResNeSt-101 and mmdet's weights, converted.
# mim test mmdet
#     configs/mmdet/trained/cascade-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco.py
#     --checkpoint mmfish://mmdet/cascade-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco
_base_ = './cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py'
model = dict(backbone=dict(depth=101, stem_channels=128))
load_from = 'mmfish://mmdet/cascade-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco'
