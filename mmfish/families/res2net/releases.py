"""Res2Net's published variants (the official code's models and README figures, PaddleClas'
SSLD-distilled Res2Net200_vd), their released files, and the models the toolboxes trained with
a Res2Net backbone."""
import json
from pathlib import Path

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

#: the toolboxes' trained models with a Res2Net backbone, as their installed metafiles list
#: them: ``trained.json`` beside this module, one object per model (toolbox, model, config, the
#: weights' path under the toolbox's downloads, dataset, the published scores)
TRAINED = tuple(trained('Res2Net', **row) for row in json.loads(
    (Path(__file__).parent / 'trained.json').read_text()))
