# mmdet's trained cascade-mask-rcnn_res2net-101_fpn_20e_coco (46.4 box AP, 40.0 mask AP on
# COCO): mmfish's Res2Net-101 and mmdet's weights, converted.
# mim test mmdet configs/mmdet/trained/cascade-mask-rcnn_res2net-101_fpn_20e_coco.py
#     --checkpoint mmfish://mmdet/cascade-mask-rcnn_res2net-101_fpn_20e_coco
# mmdet's Res2Net does not pool the last split in the first block of layer1:
# split_style='mmdet'.
_base_ = '../res2net/cascade-mask-rcnn_res2net101-v1b_fpn_20e_coco.py'
model = dict(backbone=dict(split_style='mmdet', init_cfg=None))
load_from = 'mmfish://mmdet/cascade-mask-rcnn_res2net-101_fpn_20e_coco'
