# mmseg's trained resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024 (77.56 mIoU, 78.98
# mIoU(ms+flip) on Cityscapes): mmfish's ResNeSt-101 and mmseg's weights, converted.
# mim test mmseg configs/mmseg/trained/resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024.py
#     --checkpoint mmfish://mmseg/resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024
_base_ = '../resnest/fcn_resnest101-d8_4xb2-80k_cityscapes-512x1024.py'
model = dict(backbone=dict(init_cfg=None))
load_from = 'mmfish://mmseg/resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024'
