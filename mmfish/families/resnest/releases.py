"""ResNeSt's published variants (the official code and ablation study, GluonCV's ResNeSt-14/26
as timm releases them), their released files, and the models the toolboxes trained with a
ResNeSt backbone."""
from ...core.release import Variant, trained, with_urls

#: where each publisher serves its released files, under their released names: the official
#: ResNeSt code (resnest.py, ablation.py: _url_format) and timm's copies of GluonCV's
#: ResNeSt-14/26 (resnest.py: default_cfgs)
RESNEST_RELEASES = 'https://github.com/zhanghang1989/ResNeSt/releases/download/weights_step1/'
TIMM_RELEASES = 'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/'


def _download(name: str) -> str:
    return (TIMM_RELEASES if name.startswith('gluon_') else RESNEST_RELEASES) + name


def _resnest_fast(setting, params, top1, sha):
    """A ResNeSt-50 "fast" model of the official ablation study (``ablation.py``):
    ``<radix>s<groups>x<width>d``, the avd pool before the split-attention conv."""
    radix, rest = setting.split('s')
    groups, width = rest.rstrip('d').split('x')
    backbone = dict(type='ResNeSt', depth=50, radix=int(radix), groups=int(groups),
                    base_width=int(width), avd_first=True)
    official = f'resnest50_fast_{setting}'
    return Variant(f'resnest50-fast-{setting}', official, backbone, params, top1, 224,
                   '64xb128', files=(f'{official}-{sha}.pth', ))


VARIANTS = with_urls([
    # GluonCV's ResNeSt-14/26 (published top-1 of its model zoo), as timm releases them
    Variant('resnest14d', 'resnest14d', dict(type='ResNeSt', depth=14), 10.6, 75.75, 224,
            '64xb128', files=('gluon_resnest14-9c8fe254.pth', )),
    Variant('resnest26d', 'resnest26d', dict(type='ResNeSt', depth=26), 17.1, 78.68, 224,
            '64xb128', files=('gluon_resnest26-50eb607c.pth', )),
    Variant('resnest50', 'resnest50', dict(type='ResNeSt', depth=50, stem_channels=64), 27.48,
            81.03, 224, '64xb128', files=('resnest50-528c19ca.pth', )),
    # the official ablation study's ResNeSt-50-fast models (ablation.md: #P, PyTorch top-1)
    _resnest_fast('1s1x64d', 26.3, 80.33, 'd8fbf808'),
    _resnest_fast('2s1x64d', 27.5, 80.53, '44938639'),
    _resnest_fast('4s1x64d', 31.9, 80.76, 'f74f3fc3'),
    _resnest_fast('1s2x40d', 25.9, 80.59, '32830b84'),
    _resnest_fast('2s2x40d', 26.9, 80.61, '9d126481'),
    _resnest_fast('4s2x40d', 30.4, 81.14, '41d14ed0'),
    _resnest_fast('1s4x24d', 25.7, 80.99, 'd4a4f76f'),
    Variant('resnest101', 'resnest101', dict(type='ResNeSt', depth=101, stem_channels=128),
            48.28, 82.83, 256, '64xb128', files=('resnest101-22405ba7.pth', )),
    Variant('resnest200', 'resnest200', dict(type='ResNeSt', depth=200, stem_channels=128),
            70.20, 83.84, 320, '64xb128', files=('resnest200-75117900.pth', )),
    Variant('resnest269', 'resnest269', dict(type='ResNeSt', depth=269, stem_channels=128),
            110.93, 84.54, 416, '64xb128', files=('resnest269-0cc87c48.pth', )),
], _download)

#: the toolboxes' trained models with a ResNeSt backbone (their installed metafiles; mmpretrain's
#: ResNeSt classifiers have no metafile and are not listed)
TRAINED = (
    trained('ResNeSt', 'mmdet', 'faster-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco',
             'resnest/faster-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
             'resnest/faster_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco/faster_'
             'rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco_20200926_'
             '125502-20289c16.pth',
             'COCO', {'box AP': 42.0}),
    trained('ResNeSt', 'mmdet', 'faster-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco',
             'resnest/faster-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
             'resnest/faster_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco/faster_'
             'rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco_20201006_'
             '021058-421517f1.pth',
             'COCO', {'box AP': 44.5}),
    trained('ResNeSt', 'mmdet', 'mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco',
             'resnest/mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco.py',
             'resnest/mask_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco/mask_rcnn_s50_fpn_'
             'syncbn-backbone%2Bhead_mstrain_1x_coco_20200926_125503-8a2c3d47.pth',
             'COCO', {'box AP': 42.6, 'mask AP': 38.1}),
    trained('ResNeSt', 'mmdet', 'mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco',
             'resnest/mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco.py',
             'resnest/mask_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco/mask_rcnn_s101_'
             'fpn_syncbn-backbone%2Bhead_mstrain_1x_coco_20201005_215831-af60cdf9.pth',
             'COCO', {'box AP': 45.2, 'mask AP': 40.2}),
    trained('ResNeSt', 'mmdet', 'cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco',
             'resnest/cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
             'resnest/cascade_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco/cascade_'
             'rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco_20201122_'
             '213640-763cc7b5.pth',
             'COCO', {'box AP': 44.5}),
    trained('ResNeSt', 'mmdet', 'cascade-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco',
             'resnest/cascade-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
             'resnest/cascade_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco/cascade_'
             'rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco_20201005_'
             '113242-b9459f8f.pth',
             'COCO', {'box AP': 46.8}),
    trained('ResNeSt', 'mmdet', 'cascade-mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco',
             'resnest/cascade-mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco.py',
             'resnest/cascade_mask_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco/cascade_'
             'mask_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco_20201122_'
             '104428-99eca4c7.pth',
             'COCO', {'box AP': 45.4, 'mask AP': 39.5}),
    trained('ResNeSt', 'mmdet', 'cascade-mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco',
             'resnest/cascade-mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco.py',
             'resnest/cascade_mask_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco/cascade_'
             'mask_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco_20201005_'
             '113243-42607475.pth',
             'COCO', {'box AP': 47.7, 'mask AP': 41.4}),
    trained('ResNeSt', 'mmseg', 'resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024',
             'resnest/resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024.py',
             'resnest/fcn_s101-d8_512x1024_80k_cityscapes/'
             'fcn_s101-d8_512x1024_80k_cityscapes_20200807_140631-f8d155b3.pth',
             'Cityscapes', {'mIoU': 77.56, 'mIoU(ms+flip)': 78.98}),
    trained('ResNeSt', 'mmseg', 'resnest_s101-d8_pspnet_4xb2-80k_cityscapes512x1024',
             'resnest/resnest_s101-d8_pspnet_4xb2-80k_cityscapes512x1024.py',
             'resnest/pspnet_s101-d8_512x1024_80k_cityscapes/'
             'pspnet_s101-d8_512x1024_80k_cityscapes_20200807_140631-c75f3b99.pth',
             'Cityscapes', {'mIoU': 78.57, 'mIoU(ms+flip)': 79.19}),
    trained('ResNeSt', 'mmseg', 'resnest_s101-d8_deeplabv3_4xb2-80k_cityscapes-512x1024',
             'resnest/resnest_s101-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py',
             'resnest/deeplabv3_s101-d8_512x1024_80k_cityscapes/'
             'deeplabv3_s101-d8_512x1024_80k_cityscapes_20200807_144429-b73c4270.pth',
             'Cityscapes', {'mIoU': 79.67, 'mIoU(ms+flip)': 80.51}),
    trained('ResNeSt', 'mmseg', 'resnest_s101-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024',
             'resnest/resnest_s101-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py',
             'resnest/deeplabv3plus_s101-d8_512x1024_80k_cityscapes/'
             'deeplabv3plus_s101-d8_512x1024_80k_cityscapes_20200807_144429-1239eb43.pth',
             'Cityscapes', {'mIoU': 79.62, 'mIoU(ms+flip)': 80.27}),
    trained('ResNeSt', 'mmseg', 'resnest_s101-d8_fcn_4xb4-160k_ade20k-512x512',
             'resnest/resnest_s101-d8_fcn_4xb4-160k_ade20k-512x512.py',
             'resnest/fcn_s101-d8_512x512_160k_ade20k/'
             'fcn_s101-d8_512x512_160k_ade20k_20200807_145416-d3160329.pth',
             'ADE20K', {'mIoU': 45.62, 'mIoU(ms+flip)': 46.16}),
    trained('ResNeSt', 'mmseg', 'resnest_s101-d8_pspnet_4xb4-160k_ade20k-512x512',
             'resnest/resnest_s101-d8_pspnet_4xb4-160k_ade20k-512x512.py',
             'resnest/pspnet_s101-d8_512x512_160k_ade20k/'
             'pspnet_s101-d8_512x512_160k_ade20k_20200807_145416-a6daa92a.pth',
             'ADE20K', {'mIoU': 45.44, 'mIoU(ms+flip)': 46.28}),
    trained('ResNeSt', 'mmseg', 'resnest_s101-d8_deeplabv3_4xb4-160k_ade20k-512x512',
             'resnest/resnest_s101-d8_deeplabv3_4xb4-160k_ade20k-512x512.py',
             'resnest/deeplabv3_s101-d8_512x512_160k_ade20k/'
             'deeplabv3_s101-d8_512x512_160k_ade20k_20200807_144503-17ecabe5.pth',
             'ADE20K', {'mIoU': 45.71, 'mIoU(ms+flip)': 46.59}),
    trained('ResNeSt', 'mmseg', 'resnest_s101-d8_deeplabv3plus_4xb4-160k_ade20k-512x512',
             'resnest/resnest_s101-d8_deeplabv3plus_4xb4-160k_ade20k-512x512.py',
             'resnest/deeplabv3plus_s101-d8_512x512_160k_ade20k/'
             'deeplabv3plus_s101-d8_512x512_160k_ade20k_20200807_144503-27b26226.pth',
             'ADE20K', {'mIoU': 46.47, 'mIoU(ms+flip)': 47.27}),
    trained('ResNeSt', 'mmpose', 'td-hm_resnest50_8xb64-210e_coco-256x192',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest50_8xb64-210e_coco-256x192.py',
             'resnest/resnest50_coco_256x192-6e65eece_20210320.pth',
             'COCO', {'AP': 0.72, 'AR': 0.775}),
    trained('ResNeSt', 'mmpose', 'td-hm_resnest50_8xb64-210e_coco-384x288',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest50_8xb64-210e_coco-384x288.py',
             'resnest/resnest50_coco_384x288-dcd20436_20210320.pth',
             'COCO', {'AP': 0.737, 'AR': 0.789}),
    trained('ResNeSt', 'mmpose', 'td-hm_resnest101_8xb64-210e_coco-256x192',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest101_8xb64-210e_coco-256x192.py',
             'resnest/resnest101_coco_256x192-2ffcdc9d_20210320.pth',
             'COCO', {'AP': 0.725, 'AR': 0.781}),
    trained('ResNeSt', 'mmpose', 'td-hm_resnest101_8xb32-210e_coco-384x288',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest101_8xb32-210e_coco-384x288.py',
             'resnest/resnest101_coco_384x288-80660658_20210320.pth',
             'COCO', {'AP': 0.745, 'AR': 0.798}),
    trained('ResNeSt', 'mmpose', 'td-hm_resnest200_8xb64-210e_coco-256x192',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest200_8xb64-210e_coco-256x192.py',
             'resnest/resnest200_coco_256x192-db007a48_20210517.pth',
             'COCO', {'AP': 0.731, 'AR': 0.787}),
    trained('ResNeSt', 'mmpose', 'td-hm_resnest200_8xb16-210e_coco-384x288',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest200_8xb16-210e_coco-384x288.py',
             'resnest/resnest200_coco_384x288-b5bb76cb_20210517.pth',
             'COCO', {'AP': 0.753, 'AR': 0.805}),
    trained('ResNeSt', 'mmpose', 'td-hm_resnest269_8xb32-210e_coco-256x192',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest269_8xb32-210e_coco-256x192.py',
             'resnest/resnest269_coco_256x192-2a7882ac_20210517.pth',
             'COCO', {'AP': 0.737, 'AR': 0.792}),
    trained('ResNeSt', 'mmpose', 'td-hm_resnest269_8xb16-210e_coco-384x288',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest269_8xb16-210e_coco-384x288.py',
             'resnest/resnest269_coco_384x288-b142b9fb_20210517.pth',
             'COCO', {'AP': 0.754, 'AR': 0.805}),
)
