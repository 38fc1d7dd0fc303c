# mmdet's trained cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco (44.5 box AP on
# COCO): mmfish's ResNeSt-50 and mmdet's weights, converted.
# mim test mmdet configs/mmdet/trained/cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py
#     --checkpoint mmfish://mmdet/cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco
_base_ = [
    'mmdet::resnest/cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
    './_base_/resnest50.py',
]
model = dict(backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
load_from = 'mmfish://mmdet/cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco'
