# Mask R-CNN FishNet-150 with deformable convs (DCN, as mmdet's
# dcn/mask-rcnn_r50-dconv-c3-c5_fpn_1x_coco.py) at the pyramid levels of strides 8, 16 and 32:
# the 3x3 conv of every FishBlock of the tail, body and head that runs there (docs/models.md).
_base_ = './mask-rcnn_fishnet150_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
