# DeepLabV3 with ResNeSt-101 on ADE20K (512x512, 160k iterations, 4 GPUs x 4 images):
#     mim train mmseg configs/deeplabv3_resnest101_ade20k.py
_base_ = './mmseg/resnest/deeplabv3_resnest101-d8_4xb4-160k_ade20k-512x512.py'
