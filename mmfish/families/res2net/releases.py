"""Res2Net's published variants (the official code's models and README figures, PaddleClas'
SSLD-distilled Res2Net200_vd), their released files, and the models the toolboxes trained with
a Res2Net backbone."""
from ...core.release import Variant, trained, with_urls

#: where each publisher serves its released files, under their released names: the official
#: Res2Net code (res2net.py, res2net_v1b.py, res2next.py, dla.py: model_urls) and PaddleClas'
#: model list
RES2NET_RELEASES = 'https://shanghuagao.oss-cn-beijing.aliyuncs.com/res2net/'
PADDLECLAS_RELEASES = 'https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/'


def _download(name: str) -> str:
    return (PADDLECLAS_RELEASES if name.endswith('.pdparams') else RES2NET_RELEASES) + name


def _res2net(depth, w, s, params, top1, sha=None, v1b=False):
    """A Res2Net of the official code (``res2net.py``, ``res2net_v1b.py``): the model
    ``res2net<depth>[_v1b]_<w>w_<s>s``, its released file ``<model>-<sha>.pth``."""
    official = f'res2net{depth}{"_v1b" if v1b else ""}_{w}w_{s}s'
    backbone = dict(type='Res2Net', depth=depth, scales=s, base_width=w)
    if v1b:
        backbone.update(deep_stem=True, avg_down=True)
    return Variant(f'res2net{depth}{"-v1b" if v1b else ""}-w{w}-s{s}', official, backbone,
                   params, top1, files=(f'{official}-{sha}.pth', ) if sha else ())


VARIANTS = with_urls([
    _res2net(50, 26, 4, 25.70, 77.99, '06e79181'),
    _res2net(50, 48, 2, 25.29, 77.32, 'afed724a'),
    _res2net(50, 14, 8, 25.06, 78.14, '6527dddc'),
    _res2net(50, 26, 6, 37.05, 78.58, '19041792'),
    _res2net(50, 26, 8, 48.40, 79.20, '2c7c9f12'),
    _res2net(101, 26, 4, 45.21, 79.19, '02a759a1'),
    Variant('res2next50', 'res2next50',
            dict(type='Res2Net', depth=50, scales=4, base_width=4, groups=8), 24.67, 78.24,
            files=('res2next50_4s-6ef7e7bf.pth', )),
    _res2net(50, 26, 4, 25.72, 80.27, '3cf99910', v1b=True),
    _res2net(101, 26, 4, 45.23, 81.23, '0812c246', v1b=True),
    # PaddleClas' SSLD-distilled Res2Net200_vd (Res2Net.md: Params; model list: top-1 85.13,
    # eval at 224; Res2Net200_vd_26w_4s.yaml: 64 images per GPU, 4 GPUs in its docs)
    Variant('res2net200-v1d-w26-s4', 'Res2Net200_vd_26w_4s_ssld',
            dict(type='Res2Net', depth=200, scales=4, base_width=26, deep_stem=True,
                 avg_down=True, split_style='paddle'), 76.21, 85.13, 224, '4xb64',
            files=('Res2Net200_vd_26w_4s_ssld_pretrained.pdparams', )),
    # an official builder (res2net_v1b.py) without released weights
    _res2net(152, 26, 4, 61.29, None, v1b=True),
], _download)

#: the toolboxes' trained models with a Res2Net backbone (their installed metafiles)
TRAINED = (
    trained('Res2Net', 'mmdet', 'faster-rcnn_res2net-101_fpn_2x_coco',
             'res2net/faster-rcnn_res2net-101_fpn_2x_coco.py',
             'res2net/faster_rcnn_r2_101_fpn_2x_coco/faster_rcnn_r2_101_fpn_2x_coco-175f1da6.pth',
             'COCO', {'box AP': 43.0}),
    trained('Res2Net', 'mmdet', 'mask-rcnn_res2net-101_fpn_2x_coco',
             'res2net/mask-rcnn_res2net-101_fpn_2x_coco.py',
             'res2net/mask_rcnn_r2_101_fpn_2x_coco/mask_rcnn_r2_101_fpn_2x_coco-17f061e8.pth',
             'COCO', {'box AP': 43.6, 'mask AP': 38.7}),
    trained('Res2Net', 'mmdet', 'cascade-rcnn_res2net-101_fpn_20e_coco',
             'res2net/cascade-rcnn_res2net-101_fpn_20e_coco.py',
             'res2net/cascade_rcnn_r2_101_fpn_20e_coco/'
             'cascade_rcnn_r2_101_fpn_20e_coco-f4b7b7db.pth',
             'COCO', {'box AP': 45.7}),
    trained('Res2Net', 'mmdet', 'cascade-mask-rcnn_res2net-101_fpn_20e_coco',
             'res2net/cascade-mask-rcnn_res2net-101_fpn_20e_coco.py',
             'res2net/cascade_mask_rcnn_r2_101_fpn_20e_coco/'
             'cascade_mask_rcnn_r2_101_fpn_20e_coco-8a7b41e1.pth',
             'COCO', {'box AP': 46.4, 'mask AP': 40.0}),
    trained('Res2Net', 'mmdet', 'htc_res2net-101_fpn_20e_coco',
             'res2net/htc_res2net-101_fpn_20e_coco.py',
             'res2net/htc_r2_101_fpn_20e_coco/htc_r2_101_fpn_20e_coco-3a8d2112.pth',
             'COCO', {'box AP': 47.5, 'mask AP': 41.6}),
    trained('Res2Net', 'mmpretrain', 'res2net50-w14-s8_3rdparty_8xb32_in1k',
             'res2net/res2net50-w14-s8_8xb32_in1k.py',
             'res2net/res2net50-w14-s8_3rdparty_8xb32_in1k_20210927-bc967bf1.pth',
             'ImageNet-1k', {'Top 1 Accuracy': 78.14}),
    trained('Res2Net', 'mmpretrain', 'res2net50-w26-s8_3rdparty_8xb32_in1k',
             'res2net/res2net50-w26-s8_8xb32_in1k.py',
             'res2net/res2net50-w26-s8_3rdparty_8xb32_in1k_20210927-f547a94b.pth',
             'ImageNet-1k', {'Top 1 Accuracy': 79.2}),
    trained('Res2Net', 'mmpretrain', 'res2net101-w26-s4_3rdparty_8xb32_in1k',
             'res2net/res2net101-w26-s4_8xb32_in1k.py',
             'res2net/res2net101-w26-s4_3rdparty_8xb32_in1k_20210927-870b6c36.pth',
             'ImageNet-1k', {'Top 1 Accuracy': 79.19}),
)
