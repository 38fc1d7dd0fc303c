# mmdet's trained htc_res2net-101_fpn_20e_coco (47.5 box AP, 41.6 mask AP on COCO): mmfish's
# Res2Net-101 and mmdet's weights, converted.
# mim test mmdet configs/mmdet/trained/htc_res2net-101_fpn_20e_coco.py
#     --checkpoint mmfish://mmdet/htc_res2net-101_fpn_20e_coco
# mmdet's Res2Net does not pool the last split in the first block of layer1:
# split_style='mmdet'.
_base_ = '../res2net/htc_res2net101-v1b_fpn_20e_coco.py'
model = dict(backbone=dict(split_style='mmdet', init_cfg=None))
load_from = 'mmfish://mmdet/htc_res2net-101_fpn_20e_coco'
