# mmseg's trained resnest_s101-d8_deeplabv3_4xb4-160k_ade20k-512x512 (45.71 mIoU, 46.59
# mIoU(ms+flip) on ADE20K): mmfish's ResNeSt-101 and mmseg's weights, converted.
# mim test mmseg configs/mmseg/trained/resnest_s101-d8_deeplabv3_4xb4-160k_ade20k-512x512.py
#     --checkpoint mmfish://mmseg/resnest_s101-d8_deeplabv3_4xb4-160k_ade20k-512x512
_base_ = '../resnest/deeplabv3_resnest101-d8_4xb4-160k_ade20k-512x512.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmseg/resnest_s101-d8_deeplabv3_4xb4-160k_ade20k-512x512'
