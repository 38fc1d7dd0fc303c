# detectron2-ResNeSt's Faster R-CNN ResNeSt-50-DCNv2
# (faster_rcnn_ResNeSt_50_FPN_dcn_syncbn_range-scale_1x): modulated deformable split-attention
# convs with 2 deformable groups in stages 3-5.
_base_ = './faster-rcnn_resnest50_fpn_syncbn-all_ms-range-1x_coco.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCNv2', deform_groups=2, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
