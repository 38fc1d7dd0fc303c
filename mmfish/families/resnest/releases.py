"""ResNeSt's published variants (the official code and ablation study, GluonCV's ResNeSt-14/26
as timm releases them), their released files, and the models the toolboxes trained with a
ResNeSt backbone."""
import json
from pathlib import Path

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

#: the toolboxes' trained models with a ResNeSt backbone, as their installed metafiles list
#: them (mmpretrain's ResNeSt classifiers have no metafile and are not listed): ``trained.json``
#: beside this module, one object per model (toolbox, model, config, the weights' path under
#: the toolbox's downloads, dataset, the published scores)
TRAINED = tuple(trained('ResNeSt', **row) for row in json.loads(
    (Path(__file__).parent / 'trained.json').read_text()))
