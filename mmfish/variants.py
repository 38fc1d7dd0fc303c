"""The published variants: their backbone arguments, the official model they reproduce, its
published figures and released files. The in1k configs, the converters (which decide from this
table what the weights cannot show) and the docs' model table read this table."""
from dataclasses import dataclass, field
from typing import Optional, Tuple


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

#: registered backbones without released weights, shown beside the published variants
EXTRA_BACKBONES = {'fishnext150-32x4d': dict(type='FishNeXt', depth=150)}

