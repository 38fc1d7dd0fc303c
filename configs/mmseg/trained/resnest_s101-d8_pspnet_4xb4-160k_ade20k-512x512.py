# mmseg's trained resnest_s101-d8_pspnet_4xb4-160k_ade20k-512x512 (45.44 mIoU, 46.28
# mIoU(ms+flip) on ADE20K): mmfish's ResNeSt-101 and mmseg's weights, converted.
# mim test mmseg configs/mmseg/trained/resnest_s101-d8_pspnet_4xb4-160k_ade20k-512x512.py
#     --checkpoint mmfish://mmseg/resnest_s101-d8_pspnet_4xb4-160k_ade20k-512x512
_base_ = '../resnest/pspnet_resnest101-d8_4xb4-160k_ade20k-512x512.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmseg/resnest_s101-d8_pspnet_4xb4-160k_ade20k-512x512'
