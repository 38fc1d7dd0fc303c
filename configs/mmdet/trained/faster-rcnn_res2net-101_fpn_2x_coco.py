# mmdet's trained faster-rcnn_res2net-101_fpn_2x_coco (43.0 box AP on COCO): mmfish's
# Res2Net-101 and mmdet's weights, converted.
# mim test mmdet configs/mmdet/trained/faster-rcnn_res2net-101_fpn_2x_coco.py
#     --checkpoint mmfish://mmdet/faster-rcnn_res2net-101_fpn_2x_coco
# mmdet's Res2Net does not pool the last split in the first block of layer1:
# split_style='mmdet'.
_base_ = '../res2net/faster-rcnn_res2net101-v1b_fpn_2x_coco.py'
model = dict(backbone=dict(split_style='mmdet', init_cfg=None))
load_from = 'mmfish://mmdet/faster-rcnn_res2net-101_fpn_2x_coco'
