# mmdet's trained mask-rcnn_res2net-101_fpn_2x_coco (43.6 box AP, 38.7 mask AP on COCO):
# mmfish's Res2Net-101 and mmdet's weights, converted.
# mim test mmdet configs/mmdet/trained/mask-rcnn_res2net-101_fpn_2x_coco.py
#     --checkpoint mmfish://mmdet/mask-rcnn_res2net-101_fpn_2x_coco
# mmdet's Res2Net does not pool the last split in the first block of layer1:
# split_style='mmdet'.
_base_ = [
    'mmdet::res2net/mask-rcnn_res2net-101_fpn_2x_coco.py',
    './_base_/res2net101.py',
]
model = dict(backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
load_from = 'mmfish://mmdet/mask-rcnn_res2net-101_fpn_2x_coco'
