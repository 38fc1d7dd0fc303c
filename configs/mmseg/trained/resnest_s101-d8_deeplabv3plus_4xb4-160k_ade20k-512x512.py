# mmseg's trained resnest_s101-d8_deeplabv3plus_4xb4-160k_ade20k-512x512 (46.47 mIoU, 47.27
# mIoU(ms+flip) on ADE20K): mmfish's ResNeSt-101 and mmseg's weights, converted.
# mim test mmseg configs/mmseg/trained/resnest_s101-d8_deeplabv3plus_4xb4-160k_ade20k-512x512.py
#     --checkpoint mmfish://mmseg/resnest_s101-d8_deeplabv3plus_4xb4-160k_ade20k-512x512
_base_ = '../resnest/deeplabv3plus_resnest101-d8_4xb4-160k_ade20k-512x512.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmseg/resnest_s101-d8_deeplabv3plus_4xb4-160k_ade20k-512x512'
