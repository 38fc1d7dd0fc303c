"""Build every published mmfish variant through each OpenMMLab toolbox's registry and report
its size and pyramid: what ``make demo`` prints."""
import importlib
import time
from typing import Iterable, List

import torch

from mmfish.variants import EXTRA_BACKBONES, VARIANTS

ALL_BACKBONES = {**{n: v.backbone for n, v in VARIANTS.items()}, **EXTRA_BACKBONES}

#: toolbox -> module holding its MODELS registry
TOOLBOXES = {'mmdet': 'mmdet.registry', 'mmseg': 'mmseg.registry',
             'mmpretrain': 'mmpretrain.registry'}


def build_in_toolboxes(backbone: dict) -> dict:
    """Build ``backbone`` (unscoped type) through every toolbox's registry with the scoped
    type ``mmfish.<type>``; return ``{toolbox: model}``."""
    cfg = dict(backbone, type='mmfish.' + backbone['type'])
    models = {}
    for toolbox, module in TOOLBOXES.items():
        registry = importlib.import_module(module).MODELS
        models[toolbox] = registry.build(dict(cfg))
    return models


def inventory(names: Iterable[str] = ALL_BACKBONES, size: int = 224, log=print) -> List[dict]:
    rows = []
    for name in names:
        backbone = ALL_BACKBONES[name]
        start = time.perf_counter()
        models = build_in_toolboxes(backbone)
        classes = {type(m) for m in models.values()}
        if len(classes) != 1:
            raise RuntimeError(f'{name}: the toolboxes built different classes {classes}')
        model = models['mmdet'].eval()
        with torch.no_grad():
            outs = model(torch.rand(1, 3, size, size))
        rows.append(dict(
            name=name, type=backbone['type'],
            params=sum(p.numel() for p in model.parameters()),
            shapes=[tuple(o.shape[1:]) for o in outs],
            toolboxes=','.join(models), seconds=time.perf_counter() - start))
        log(f'  built {name} in {", ".join(models)} ({rows[-1]["seconds"]:.1f}s)')
    return rows


def format_table(rows: List[dict], size: int = 224) -> str:
    header = f'| variant | type | backbone params | output shapes (C, H, W) at {size}x{size} |'
    lines = [header, '|---|---|---:|---|']
    for r in rows:
        shapes = ' '.join(f'{c}x{h}x{w}' for c, h, w in r['shapes'])
        lines.append(f'| {r["name"]} | {r["type"]} | {r["params"] / 1e6:.2f}M | {shapes} |')
    return '\n'.join(lines)
