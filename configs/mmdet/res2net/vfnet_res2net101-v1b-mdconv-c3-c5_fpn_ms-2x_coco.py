# VarifocalNet Res2Net-101 with DCNv2 in the backbone's stages 3-5 and on the head's last conv,
# as mmdet's vfnet_res2net101-mdconv-c3-c5_fpn_ms-2x_coco.py.
_base_ = './vfnet_res2net101-v1b_fpn_ms-2x_coco.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)),
    bbox_head=dict(dcn_on_last_conv=True))
