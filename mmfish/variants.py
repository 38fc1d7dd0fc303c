"""The published variants: their backbone arguments, the official model they reproduce, its
published figures and released files. The in1k configs, the converters (which decide from this
table what the weights cannot show) and the docs' model table read this table."""
from dataclasses import dataclass, field
from typing import Optional, Tuple
from urllib.parse import unquote


@dataclass(frozen=True)
class Variant:
    name: str  #: config stem, ``configs/<family>/<name>_<batch>_in1k.py``
    official: str  #: the official model's name
    backbone: dict  #: mmfish backbone arguments (unscoped ``type``)
    params_m: float  #: published parameters, millions (to the published number of digits)
    top1: Optional[float]  #: published ImageNet-1k top-1 (%) at ``input_size``; None: no weights
    input_size: int = 224
    batch: str = '8xb32'  #: GPUs x images per GPU of the official recipe
    extra: dict = field(default_factory=dict)
    #: the released weight files, named as released (``<name>-<sha256 prefix>.pth``)
    files: Tuple[str, ...] = ()

    @property
    def family(self) -> str:
        return self.backbone['type'].lower().replace('fishnext', 'fishnet')

    @property
    def config(self) -> str:
        return f'configs/mmpretrain/{self.family}/{self.name}_{self.batch}_in1k.py'

    @property
    def url(self) -> Optional[str]:
        """Where the first released file is downloaded from (:data:`DOWNLOADS`)."""
        return DOWNLOADS.get(self.files[0]) if self.files else None

    def convert_command(self, src: Optional[str] = None) -> str:
        """The command that converts the released weights (by default the released file, as
        named when released) into the file the configs load."""
        src = src or (self.files[0] if self.files else 'SRC')
        return f'python -m mmfish.convert {src} checkpoints/{self.name}_mmfish.pth'


def _res2net(depth, w, s, params, top1, sha=None, v1b=False):
    """A Res2Net of the official code (``res2net.py``, ``res2net_v1b.py``): the model
    ``res2net<depth>[_v1b]_<w>w_<s>s``, its released file ``<model>-<sha>.pth``."""
    official = f'res2net{depth}{"_v1b" if v1b else ""}_{w}w_{s}s'
    backbone = dict(type='Res2Net', depth=depth, scales=s, base_width=w)
    if v1b:
        backbone.update(deep_stem=True, avg_down=True)
    return Variant(f'res2net{depth}{"-v1b" if v1b else ""}-w{w}-s{s}', official, backbone,
                   params, top1, files=(f'{official}-{sha}.pth', ) if sha else ())


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


VARIANTS = {v.name: v for v in [
    Variant('fishnet99', 'fishnet99', dict(type='FishNet', depth=99), 16.62, 77.41,
            files=('fishnet99_ckpt.tar', )),
    Variant('fishnet150', 'fishnet150', dict(type='FishNet', depth=150), 24.96, 78.14,
            files=('fishnet150_ckpt.tar', )),
    Variant('fishnet201', 'fishnet201', dict(type='FishNet', depth=201), 44.58, 78.76),
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
    # Res2Net-DLA-60 and Res2NeXt-DLA-60 (dla.py; README: #Params, 100 - top-1 error)
    Variant('res2net-dla60', 'res2net_dla60', dict(type='Res2NetDLA', depth=60), 21.15, 78.47,
            files=('res2net_dla60_4s-d88db7f9.pth', )),
    Variant('res2next-dla60', 'res2next_dla60',
            dict(type='Res2NetDLA', depth=60, groups=8, base_width=4), 17.33, 78.45,
            files=('res2next_dla60_4s-d327927b.pth', )),
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
]}

#: where each publisher serves its released files, under their released names
_RELEASES = {
    # the official ResNeSt code (resnest.py, ablation.py: _url_format)
    'resnest': 'https://github.com/zhanghang1989/ResNeSt/releases/download/weights_step1/',
    # the official Res2Net code (res2net.py, res2net_v1b.py, res2next.py, dla.py: model_urls)
    'res2net': 'https://shanghuagao.oss-cn-beijing.aliyuncs.com/res2net/',
    # timm's copies of GluonCV's ResNeSt-14/26 (resnest.py: default_cfgs)
    'timm': 'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/',
    # PaddleClas' model list
    'paddleclas': 'https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/',
}


def _download(name: str) -> str:
    publisher = ('timm' if name.startswith('gluon_') else
                 'resnest' if name.startswith('resnest') else
                 'paddleclas' if name.endswith('.pdparams') else 'res2net')
    return _RELEASES[publisher] + name


#: the download URL of every released file of :data:`VARIANTS`. FishNet's files are on Dropbox
#: (the official README's links, ``dl=1`` for the file itself) and publish no digest
DOWNLOADS = {
    'fishnet99_ckpt.tar': 'https://www.dropbox.com/s/hvojbdsad5ue7yb/fishnet99_ckpt.tar?dl=1',
    'fishnet150_ckpt.tar': 'https://www.dropbox.com/s/hjadcef18ln3o2v/fishnet150_ckpt.tar?dl=1',
    **{f: _download(f) for v in VARIANTS.values() for f in v.files
       if not f.startswith('fishnet')},
}


@dataclass(frozen=True)
class TrainedModel:
    """A detector, segmenter, pose model or classifier that a toolbox trained with a ResNeSt or
    Res2Net backbone and published (its metafile: name, config, weights, scores)."""
    toolbox: str  #: ``'mmdet'``, ``'mmseg'``, ``'mmpose'`` or ``'mmpretrain'``
    model: str  #: the model's name in the toolbox's metafile
    toolbox_config: str  #: the toolbox's config, under its ``configs/``
    url: str  #: the toolbox's download URL of the weights
    dataset: str  #: what the scores were measured on
    scores: dict  #: the published scores (the metafile's metric names)

    @property
    def name(self) -> str:
        """``<toolbox>/<model>``: ``mmfish://<name>``."""
        return f'{self.toolbox}/{self.model}'

    @property
    def file(self) -> str:
        """The released file's name (``...-<sha256 prefix>.pth``, unquoted)."""
        return unquote(self.url.rsplit('/', 1)[1])

    @property
    def config(self) -> str:
        """The mmfish config that builds the model (it inherits the toolbox's own)."""
        return f'configs/{self.toolbox}/trained/{self.model}.py'

    @property
    def family(self) -> str:
        """The backbone's family: ``'Res2Net'`` or ``'ResNeSt'``."""
        return 'Res2Net' if 'res2net' in self.model else 'ResNeSt'

    @property
    def tasks(self) -> dict:
        """``{metric: task}`` of :attr:`scores`, with OpenMMLab's metafiles' task names."""
        task = {'mmseg': 'Semantic Segmentation', 'mmpose': 'Body 2D Keypoint',
                'mmpretrain': 'Image Classification'}.get(self.toolbox)
        return {m: task or ('Instance Segmentation' if m.startswith('mask')
                            else 'Object Detection') for m in self.scores}


#: where each toolbox serves its trained models
_OPENMMLAB = {'mmdet': 'https://download.openmmlab.com/mmdetection/v2.0/',
              'mmseg': 'https://download.openmmlab.com/mmsegmentation/v0.5/',
              'mmpose': 'https://download.openmmlab.com/mmpose/top_down/',
              'mmpretrain': 'https://download.openmmlab.com/mmclassification/v0/'}


def _trained(toolbox, model, config, path, dataset, scores):
    """A row of :data:`TRAINED`: ``path`` is the weights' URL under the toolbox's downloads."""
    return TrainedModel(toolbox, model, config, _OPENMMLAB[toolbox] + path, dataset, scores)


#: the toolboxes' trained models with ResNeSt and Res2Net backbones, by ``<toolbox>/<model>``,
#: as their installed metafiles list them (mmdet 3.3, mmseg 1.2, mmpose 1.3, mmpretrain 1.2;
#: mmpretrain's ResNeSt classifiers have no metafile and are not listed)
TRAINED = {t.name: t for t in [
    _trained('mmdet', 'faster-rcnn_res2net-101_fpn_2x_coco',
             'res2net/faster-rcnn_res2net-101_fpn_2x_coco.py',
             'res2net/faster_rcnn_r2_101_fpn_2x_coco/faster_rcnn_r2_101_fpn_2x_coco-175f1da6.pth',
             'COCO', {'box AP': 43.0}),
    _trained('mmdet', 'mask-rcnn_res2net-101_fpn_2x_coco',
             'res2net/mask-rcnn_res2net-101_fpn_2x_coco.py',
             'res2net/mask_rcnn_r2_101_fpn_2x_coco/mask_rcnn_r2_101_fpn_2x_coco-17f061e8.pth',
             'COCO', {'box AP': 43.6, 'mask AP': 38.7}),
    _trained('mmdet', 'cascade-rcnn_res2net-101_fpn_20e_coco',
             'res2net/cascade-rcnn_res2net-101_fpn_20e_coco.py',
             'res2net/cascade_rcnn_r2_101_fpn_20e_coco/'
             'cascade_rcnn_r2_101_fpn_20e_coco-f4b7b7db.pth',
             'COCO', {'box AP': 45.7}),
    _trained('mmdet', 'cascade-mask-rcnn_res2net-101_fpn_20e_coco',
             'res2net/cascade-mask-rcnn_res2net-101_fpn_20e_coco.py',
             'res2net/cascade_mask_rcnn_r2_101_fpn_20e_coco/'
             'cascade_mask_rcnn_r2_101_fpn_20e_coco-8a7b41e1.pth',
             'COCO', {'box AP': 46.4, 'mask AP': 40.0}),
    _trained('mmdet', 'htc_res2net-101_fpn_20e_coco',
             'res2net/htc_res2net-101_fpn_20e_coco.py',
             'res2net/htc_r2_101_fpn_20e_coco/htc_r2_101_fpn_20e_coco-3a8d2112.pth',
             'COCO', {'box AP': 47.5, 'mask AP': 41.6}),
    _trained('mmdet', 'faster-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco',
             'resnest/faster-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
             'resnest/faster_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco/faster_'
             'rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco_20200926_'
             '125502-20289c16.pth',
             'COCO', {'box AP': 42.0}),
    _trained('mmdet', 'faster-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco',
             'resnest/faster-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
             'resnest/faster_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco/faster_'
             'rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco_20201006_'
             '021058-421517f1.pth',
             'COCO', {'box AP': 44.5}),
    _trained('mmdet', 'mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco',
             'resnest/mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco.py',
             'resnest/mask_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco/mask_rcnn_s50_fpn_'
             'syncbn-backbone%2Bhead_mstrain_1x_coco_20200926_125503-8a2c3d47.pth',
             'COCO', {'box AP': 42.6, 'mask AP': 38.1}),
    _trained('mmdet', 'mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco',
             'resnest/mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco.py',
             'resnest/mask_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco/mask_rcnn_s101_'
             'fpn_syncbn-backbone%2Bhead_mstrain_1x_coco_20201005_215831-af60cdf9.pth',
             'COCO', {'box AP': 45.2, 'mask AP': 40.2}),
    _trained('mmdet', 'cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco',
             'resnest/cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
             'resnest/cascade_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco/cascade_'
             'rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco_20201122_'
             '213640-763cc7b5.pth',
             'COCO', {'box AP': 44.5}),
    _trained('mmdet', 'cascade-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco',
             'resnest/cascade-rcnn_s101_fpn_syncbn-backbone+head_ms-range-1x_coco.py',
             'resnest/cascade_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco/cascade_'
             'rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain-range_1x_coco_20201005_'
             '113242-b9459f8f.pth',
             'COCO', {'box AP': 46.8}),
    _trained('mmdet', 'cascade-mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco',
             'resnest/cascade-mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco.py',
             'resnest/cascade_mask_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco/cascade_'
             'mask_rcnn_s50_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco_20201122_'
             '104428-99eca4c7.pth',
             'COCO', {'box AP': 45.4, 'mask AP': 39.5}),
    _trained('mmdet', 'cascade-mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco',
             'resnest/cascade-mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco.py',
             'resnest/cascade_mask_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco/cascade_'
             'mask_rcnn_s101_fpn_syncbn-backbone%2Bhead_mstrain_1x_coco_20201005_'
             '113243-42607475.pth',
             'COCO', {'box AP': 47.7, 'mask AP': 41.4}),
    _trained('mmseg', 'resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024',
             'resnest/resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024.py',
             'resnest/fcn_s101-d8_512x1024_80k_cityscapes/'
             'fcn_s101-d8_512x1024_80k_cityscapes_20200807_140631-f8d155b3.pth',
             'Cityscapes', {'mIoU': 77.56, 'mIoU(ms+flip)': 78.98}),
    _trained('mmseg', 'resnest_s101-d8_pspnet_4xb2-80k_cityscapes512x1024',
             'resnest/resnest_s101-d8_pspnet_4xb2-80k_cityscapes512x1024.py',
             'resnest/pspnet_s101-d8_512x1024_80k_cityscapes/'
             'pspnet_s101-d8_512x1024_80k_cityscapes_20200807_140631-c75f3b99.pth',
             'Cityscapes', {'mIoU': 78.57, 'mIoU(ms+flip)': 79.19}),
    _trained('mmseg', 'resnest_s101-d8_deeplabv3_4xb2-80k_cityscapes-512x1024',
             'resnest/resnest_s101-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py',
             'resnest/deeplabv3_s101-d8_512x1024_80k_cityscapes/'
             'deeplabv3_s101-d8_512x1024_80k_cityscapes_20200807_144429-b73c4270.pth',
             'Cityscapes', {'mIoU': 79.67, 'mIoU(ms+flip)': 80.51}),
    _trained('mmseg', 'resnest_s101-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024',
             'resnest/resnest_s101-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py',
             'resnest/deeplabv3plus_s101-d8_512x1024_80k_cityscapes/'
             'deeplabv3plus_s101-d8_512x1024_80k_cityscapes_20200807_144429-1239eb43.pth',
             'Cityscapes', {'mIoU': 79.62, 'mIoU(ms+flip)': 80.27}),
    _trained('mmseg', 'resnest_s101-d8_fcn_4xb4-160k_ade20k-512x512',
             'resnest/resnest_s101-d8_fcn_4xb4-160k_ade20k-512x512.py',
             'resnest/fcn_s101-d8_512x512_160k_ade20k/'
             'fcn_s101-d8_512x512_160k_ade20k_20200807_145416-d3160329.pth',
             'ADE20K', {'mIoU': 45.62, 'mIoU(ms+flip)': 46.16}),
    _trained('mmseg', 'resnest_s101-d8_pspnet_4xb4-160k_ade20k-512x512',
             'resnest/resnest_s101-d8_pspnet_4xb4-160k_ade20k-512x512.py',
             'resnest/pspnet_s101-d8_512x512_160k_ade20k/'
             'pspnet_s101-d8_512x512_160k_ade20k_20200807_145416-a6daa92a.pth',
             'ADE20K', {'mIoU': 45.44, 'mIoU(ms+flip)': 46.28}),
    _trained('mmseg', 'resnest_s101-d8_deeplabv3_4xb4-160k_ade20k-512x512',
             'resnest/resnest_s101-d8_deeplabv3_4xb4-160k_ade20k-512x512.py',
             'resnest/deeplabv3_s101-d8_512x512_160k_ade20k/'
             'deeplabv3_s101-d8_512x512_160k_ade20k_20200807_144503-17ecabe5.pth',
             'ADE20K', {'mIoU': 45.71, 'mIoU(ms+flip)': 46.59}),
    _trained('mmseg', 'resnest_s101-d8_deeplabv3plus_4xb4-160k_ade20k-512x512',
             'resnest/resnest_s101-d8_deeplabv3plus_4xb4-160k_ade20k-512x512.py',
             'resnest/deeplabv3plus_s101-d8_512x512_160k_ade20k/'
             'deeplabv3plus_s101-d8_512x512_160k_ade20k_20200807_144503-27b26226.pth',
             'ADE20K', {'mIoU': 46.47, 'mIoU(ms+flip)': 47.27}),
    _trained('mmpose', 'td-hm_resnest50_8xb64-210e_coco-256x192',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest50_8xb64-210e_coco-256x192.py',
             'resnest/resnest50_coco_256x192-6e65eece_20210320.pth',
             'COCO', {'AP': 0.72, 'AR': 0.775}),
    _trained('mmpose', 'td-hm_resnest50_8xb64-210e_coco-384x288',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest50_8xb64-210e_coco-384x288.py',
             'resnest/resnest50_coco_384x288-dcd20436_20210320.pth',
             'COCO', {'AP': 0.737, 'AR': 0.789}),
    _trained('mmpose', 'td-hm_resnest101_8xb64-210e_coco-256x192',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest101_8xb64-210e_coco-256x192.py',
             'resnest/resnest101_coco_256x192-2ffcdc9d_20210320.pth',
             'COCO', {'AP': 0.725, 'AR': 0.781}),
    _trained('mmpose', 'td-hm_resnest101_8xb32-210e_coco-384x288',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest101_8xb32-210e_coco-384x288.py',
             'resnest/resnest101_coco_384x288-80660658_20210320.pth',
             'COCO', {'AP': 0.745, 'AR': 0.798}),
    _trained('mmpose', 'td-hm_resnest200_8xb64-210e_coco-256x192',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest200_8xb64-210e_coco-256x192.py',
             'resnest/resnest200_coco_256x192-db007a48_20210517.pth',
             'COCO', {'AP': 0.731, 'AR': 0.787}),
    _trained('mmpose', 'td-hm_resnest200_8xb16-210e_coco-384x288',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest200_8xb16-210e_coco-384x288.py',
             'resnest/resnest200_coco_384x288-b5bb76cb_20210517.pth',
             'COCO', {'AP': 0.753, 'AR': 0.805}),
    _trained('mmpose', 'td-hm_resnest269_8xb32-210e_coco-256x192',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest269_8xb32-210e_coco-256x192.py',
             'resnest/resnest269_coco_256x192-2a7882ac_20210517.pth',
             'COCO', {'AP': 0.737, 'AR': 0.792}),
    _trained('mmpose', 'td-hm_resnest269_8xb16-210e_coco-384x288',
             'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest269_8xb16-210e_coco-384x288.py',
             'resnest/resnest269_coco_384x288-b142b9fb_20210517.pth',
             'COCO', {'AP': 0.754, 'AR': 0.805}),
    _trained('mmpretrain', 'res2net50-w14-s8_3rdparty_8xb32_in1k',
             'res2net/res2net50-w14-s8_8xb32_in1k.py',
             'res2net/res2net50-w14-s8_3rdparty_8xb32_in1k_20210927-bc967bf1.pth',
             'ImageNet-1k', {'Top 1 Accuracy': 78.14}),
    _trained('mmpretrain', 'res2net50-w26-s8_3rdparty_8xb32_in1k',
             'res2net/res2net50-w26-s8_8xb32_in1k.py',
             'res2net/res2net50-w26-s8_3rdparty_8xb32_in1k_20210927-f547a94b.pth',
             'ImageNet-1k', {'Top 1 Accuracy': 79.2}),
    _trained('mmpretrain', 'res2net101-w26-s4_3rdparty_8xb32_in1k',
             'res2net/res2net101-w26-s4_8xb32_in1k.py',
             'res2net/res2net101-w26-s4_3rdparty_8xb32_in1k_20210927-870b6c36.pth',
             'ImageNet-1k', {'Top 1 Accuracy': 79.19}),
]}

#: registered backbones without released weights, shown beside the published variants
EXTRA_BACKBONES = {'fishnext150-32x4d': dict(type='FishNeXt', depth=150)}

