# detectron2-ResNeSt's Cascade Mask R-CNN ResNeSt-200-DCN with "all tricks", 3x
# (mask_cascade_rcnn_ResNeSt_200_FPN_dcn_syncBN_all_tricks_3x): modulated deformable
# split-attention convs with 2 deformable groups in stages 3-5.
_base_ = './cascade-mask-rcnn_resnest200_fpn_syncbn-all_ms-640-864-crop-3x_coco.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCNv2', deform_groups=2, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
