"""Res2Net's published variants (the official code's models and README figures, PaddleClas'
SSLD-distilled Res2Net200_vd), their released files, and the models the toolboxes trained with
a Res2Net backbone."""
import json
from pathlib import Path

from ...checkpoint.sources import copy_source, hub_source, timm_hub_copy
from ...core.release import Benchmarked, Peer, Variant, trained, with_copies, with_urls
from .toolbox import with_official_pool

#: where each publisher serves its released files, under their released names: the official
#: Res2Net code (res2net.py, res2net_v1b.py, res2next.py, dla.py: model_urls) and PaddleClas'
#: model list
RES2NET_RELEASES = 'https://shanghuagao.oss-cn-beijing.aliyuncs.com/res2net/'
PADDLECLAS_RELEASES = 'https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/'


#: the same files under the same names elsewhere: timm's GitHub release of the authors' files
#: (timm's res2net.py and dla.py default_cfgs before its weights moved to the Hub) and the
#: authors' earlier host (the model_urls of the Res2Net code's first releases)
TIMM_RES2NET = 'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-res2net/'
KAIZHAO = 'http://data.kaizhao.net/projects/res2net/pretrained/'
#: timm's copies on the Hugging Face Hub (``timm/<id>``, model.safetensors), by released file,
#: with the pins known for them (sha256, commit); a copy without a pin is tried only with
#: MMFISH_ALLOW_UNPINNED=1
HUB_COPIES = {
    'res2net50_26w_4s-06e79181.pth': dict(repo='timm/res2net50_26w_4s.in1k',
                                          revision='d73b44deaf5b068a3632893bc82400b7e9285169'),
    'res2net50_48w_2s-afed724a.pth': dict(repo='timm/res2net50_48w_2s.in1k',
                                          revision='5ab6ead0ea2b382a846611724d197bb03cad6406'),
    'res2net50_14w_8s-6527dddc.pth': dict(
        repo='timm/res2net50_14w_8s.in1k', revision='7c191a2b6fb19bd2e8b4a4999f8c447ca3201e22',
        sha256='6015e815c33dc9712408805fb9849d0b12bd6b87930f17ad11795490d37678e2'),
    'res2net50_26w_6s-19041792.pth': dict(repo='timm/res2net50_26w_6s.in1k'),
    'res2net50_26w_8s-2c7c9f12.pth': dict(repo='timm/res2net50_26w_8s.in1k'),
    'res2net101_26w_4s-02a759a1.pth': dict(repo='timm/res2net101_26w_4s.in1k',
                                           revision='efe6ba03b2a3690cff854551235c33ca995e0337'),
    'res2next50_4s-6ef7e7bf.pth': dict(repo='timm/res2next50.in1k'),
    'res2net50_v1b_26w_4s-3cf99910.pth': dict(
        repo='timm/res2net50d.in1k', revision='e940e287c899660a0c2a187122a0d6de2b0af6c3'),
    'res2net101_v1b_26w_4s-0812c246.pth': dict(
        repo='timm/res2net101d.in1k', revision='2f63b5624843229486071f878c0cdbb0ffd30a5f',
        sha256='7e00980a876398f235a9a1e294a48be85e88bdd63db5f6834fd686db50ae02c4'),
    'res2net_dla60_4s-d88db7f9.pth': dict(repo='timm/dla60_res2net.in1k'),
    'res2next_dla60_4s-d327927b.pth': dict(repo='timm/dla60_res2next.in1k'),
}
#: the released files of timm's v0.1-res2net release and of the authors' earlier host
_TIMM_COPIED = ('res2net50_26w_4s', 'res2net50_48w_2s', 'res2net50_14w_8s', 'res2net50_26w_6s',
                'res2net50_26w_8s', 'res2net101_26w_4s', 'res2next50_4s', 'res2net_dla60_4s',
                'res2next_dla60_4s')
_KAIZHAO_COPIED = _TIMM_COPIED[:6] + _TIMM_COPIED[7:]
#: a community copy of mmpretrain's Res2Net classifiers under their released names (the
#: Hugging Face repository GeorgePearse/visdet-weights, folder mmcls/)
MMCLS_COPY = 'GeorgePearse/visdet-weights'


def released_copies(name: str) -> tuple:
    """The same-name copies of the released file ``name``, then its Hub copy."""
    stem, found = name.rsplit('-', 1)[0], []
    if stem in _TIMM_COPIED:
        found.append(copy_source(TIMM_RES2NET + name, "timm's GitHub release (v0.1-res2net)",
                                 "timm's res2net.py / dla.py default_cfgs (url), before the "
                                 'Hub'))
    if stem in _KAIZHAO_COPIED:
        found.append(copy_source(KAIZHAO + name, "the authors' earlier host",
                                 "model_urls of the Res2Net code's first releases (copies of "
                                 "it in public repositories)"))
    found += timm_hub_copy(HUB_COPIES.get(name), "timm's pretrained_cfg (hf_hub_id='timm/')")
    return tuple(found)


def _mmcls_copy(path: str) -> tuple:
    """The community copy of an mmpretrain classifier's file (same name: its digest)."""
    name = path.rsplit('/', 1)[-1]
    return (hub_source(MMCLS_COPY, filename=f'mmcls/{name}',
                       evidence='a community copy under the released name (issue 33); the '
                                "listing is not confirmed by a stored source: the name's "
                                'digest verifies what it serves'), )


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
VARIANTS = with_copies(VARIANTS, {v.name: released_copies(v.files[0]) for v in VARIANTS
                                  if v.files})

#: the toolboxes' trained models with a Res2Net backbone, as their installed metafiles list
#: them: ``trained.json`` beside this module, one object per model (toolbox, model, config, the
#: weights' path under the toolbox's downloads, dataset, the published scores)
TRAINED = tuple(trained('Res2Net', **row, copies=_mmcls_copy(row['path'])
                        if row['toolbox'] == 'mmpretrain' else ()) for row in json.loads(
    (Path(__file__).parent / 'trained.json').read_text()))


def _benchmarked(v1b: bool) -> Benchmarked:
    """Res2Net-50 (26w x 4s; ``v1b``: with the deep stem and avg-down shortcuts) beside
    mmpretrain's and timm's, and mmdet's (which always has the v1b stem)."""
    cfg = dict(type='Res2Net', depth=50, scales=4, base_width=26, deep_stem=v1b, avg_down=v1b)
    peers = (Peer('toolbox', 'mmpretrain', dict(cfg, out_indices=(0, 1, 2, 3))),
             Peer('timm', 'res2net50d' if v1b else 'res2net50_26w_4s'))
    if v1b:
        peers = (Peer('toolbox', 'mmdet', cfg, adjust=with_official_pool,
                      note="with the average pool of layer1.0's last split, which mmdet leaves "
                           'out, put back'), ) + peers
    return Benchmarked('res2net50-v1b-w26-s4' if v1b else 'res2net50-w26-s4', backbone=cfg,
                       peers=peers)


#: the models tools/benchmark.py times against the toolboxes' and timm's
BENCHMARKED = (_benchmarked(False), _benchmarked(True))

