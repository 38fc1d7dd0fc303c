"""ResNeSt's published variants (the official code and ablation study, GluonCV's ResNeSt-14/26
as timm releases them), their released files, and the models the toolboxes trained with a
ResNeSt backbone."""
import json
from pathlib import Path

from ...checkpoint.sources import copy_source, timm_hub_copy
from ...core.release import Benchmarked, Peer, Variant, trained, with_copies, with_urls

#: where each publisher serves its released files, under their released names: the official
#: ResNeSt code (resnest.py, ablation.py: _url_format) and timm's copies of GluonCV's
#: ResNeSt-14/26 (resnest.py: default_cfgs)
RESNEST_RELEASES = 'https://github.com/zhanghang1989/ResNeSt/releases/download/weights_step1/'
TIMM_RELEASES = 'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/'


#: the same files under the same names elsewhere: timm's GitHub release of the authors' files
#: (timm's resnest.py default_cfgs before its weights moved to the Hub), and the authors'
#: earlier hosts (the official resnest.py and ablation.py ``_url_format``: first
#: hangzh.s3.amazonaws.com, then s3.us-west-1.wasabisys.com)
TIMM_RESNEST = 'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-resnest/'
RESNEST_WASABI = 'https://s3.us-west-1.wasabisys.com/resnest/torch/'
RESNEST_S3 = 'https://hangzh.s3.amazonaws.com/encoding/models/'
_TIMM_COPIED = ('resnest50', 'resnest101', 'resnest200', 'resnest269', 'resnest50-fast-4s2x40d',
                'resnest50-fast-1s4x24d')
#: timm's copies on the Hugging Face Hub (``timm/<id>``, model.safetensors), by variant, with
#: the pins known for them; a copy without a pin is tried only with MMFISH_ALLOW_UNPINNED=1
HUB_COPIES = {
    'resnest14d': dict(repo='timm/resnest14d.gluon_in1k', sha256='e56bef38731fc91873e790d5117c3'
                       'df60ba281c6fbec6b78d5e14011c0218b8a'),
    'resnest26d': dict(repo='timm/resnest26d.gluon_in1k'),
    'resnest50': dict(repo='timm/resnest50d.in1k'),
    'resnest101': dict(repo='timm/resnest101e.in1k'),
    'resnest200': dict(repo='timm/resnest200e.in1k',
                       revision='dd5409ed34c8471cff7823b938fa8a34ff439f46'),
    'resnest269': dict(repo='timm/resnest269e.in1k'),
    'resnest50-fast-4s2x40d': dict(repo='timm/resnest50d_4s2x40d.in1k'),
    'resnest50-fast-1s4x24d': dict(repo='timm/resnest50d_1s4x24d.in1k', sha256='be7b355d15780e93d'
                                   'f7d60f685e5771e286e46c64d30749085199e9a5756adf4'),
}


def _copies(variant: Variant) -> tuple:
    """The same-name copies of ``variant``'s released file, then its Hub copy."""
    name, found = variant.files[0], []
    if variant.name in _TIMM_COPIED:
        found.append(copy_source(TIMM_RESNEST + name, "timm's GitHub release (v0.1-resnest)",
                                 "timm's resnest.py default_cfgs (url), before the Hub"))
    if not name.startswith('gluon_'):
        found += [copy_source(RESNEST_WASABI + name, 'the authors (Wasabi)',
                              "the official resnest.py / ablation.py _url_format (2020)"),
                  copy_source(RESNEST_S3 + name, 'the authors (Amazon S3)',
                              "the official resnest.py / ablation.py first _url_format")]
    found += timm_hub_copy(HUB_COPIES.get(variant.name), "timm's resnest.py pretrained_cfg (hf_hub_id='timm/')")
    return tuple(found)


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
VARIANTS = with_copies(VARIANTS, {v.name: _copies(v) for v in VARIANTS})

#: the toolboxes' trained models with a ResNeSt backbone, as their installed metafiles list
#: them (mmpretrain's ResNeSt classifiers have no metafile and are not listed): ``trained.json``
#: beside this module, one object per model (toolbox, model, config, the weights' path under
#: the toolbox's downloads, dataset, the published scores)
TRAINED = tuple(trained('ResNeSt', **row) for row in json.loads(
    (Path(__file__).parent / 'trained.json').read_text()))


def _benchmarked(depth: int, stem: int, timm_name: str) -> Benchmarked:
    """ResNeSt-``depth`` as mmfish builds it by default, beside the toolboxes' and timm's."""
    toolbox = dict(type='ResNeSt', depth=depth, stem_channels=stem, radix=2, reduction_factor=4,
                   avg_down_stride=True)
    return Benchmarked(f'resnest{depth}', backbone=dict(
        type='ResNeSt', depth=depth, stem_channels=stem), peers=(
        Peer('toolbox', 'mmdet', toolbox), Peer('toolbox', 'mmseg', toolbox),
        Peer('toolbox', 'mmpretrain', dict(type='ResNeSt', depth=depth, stem_channels=stem,
                                           out_indices=(0, 1, 2, 3))),
        Peer('timm', timm_name)))


#: the models tools/benchmark.py times against the toolboxes' and timm's
BENCHMARKED = (_benchmarked(50, 64, 'resnest50d'), _benchmarked(101, 128, 'resnest101e'))

