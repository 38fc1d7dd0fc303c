# mmdet's trained cascade-mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco (47.7 box AP, 41.4
# mask AP on COCO): mmfish's ResNeSt-101 and mmdet's weights, converted.
# mim test mmdet configs/mmdet/trained/cascade-mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco.py
#     --checkpoint mmfish://mmdet/cascade-mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco
_base_ = '../resnest/cascade-mask-rcnn_resnest101_fpn_syncbn-backbone+head_ms-1x_coco.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmdet/cascade-mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco'
