"""The model table of ``docs/models.md``: for every published variant, the parameters and
FLOPs measured on mmfish's in1k model at the official input size, beside the official figures."""
from pathlib import Path
from typing import Callable, Iterable, List, Optional

import torch

from mmfish.variants import TRAINED, VARIANTS

from . import build_in_scope, checkout_root

BEGIN, END = '<!-- model-table:begin -->', '<!-- model-table:end -->'
#: the released-files table of ``docs/converters.md``
FILES_BEGIN, FILES_END = '<!-- released-files:begin -->', '<!-- released-files:end -->'
WEIGHTS_BEGIN, WEIGHTS_END = '<!-- weights:begin -->', '<!-- weights:end -->'
#: the trained-models table of ``docs/models.md``
TRAINED_BEGIN, TRAINED_END = '<!-- trained-models:begin -->', '<!-- trained-models:end -->'


def build_classifier(config: str, backbone: Optional[dict] = None):
    """The mmpretrain ``ImageClassifier`` of an in1k config; ``backbone`` overrides
    arguments of its backbone (e.g. ``with_cp=True``)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config).model
    if backbone:
        cfg.backbone.update(backbone)
    return build_in_scope('mmpretrain', cfg)


def measure(names: Iterable[str] = VARIANTS, log: Callable[[str], None] = print,
            root: Optional[str] = None) -> List[dict]:
    """Parameters and FLOPs (MMEngine's FlopAnalyzer, at the official input size) of the in1k
    classifier of each variant, from the configs of the checkout ``root``."""
    from mmengine.analysis import FlopAnalyzer
    rows = []
    for name in names:
        variant = VARIANTS[name]
        model = build_classifier(str(checkout_root(root) / variant.config)).eval()
        size = variant.input_size
        with torch.no_grad():
            analyzer = FlopAnalyzer(model, (torch.rand(1, 3, size, size), ))
            analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            flops = analyzer.total()
        params = sum(p.numel() for p in model.parameters())
        rows.append(dict(name=name, params=params, flops=flops, variant=variant))
        log(f'  {name}: {params / 1e6:.2f}M params, {flops / 1e9:.2f} GFLOPs at {size}')
    return rows


def format_rows(rows: List[dict]) -> str:
    lines = ['| variant | official model | params (mmfish / published) | GFLOPs | input '
             '| official top-1 | config | weights (or the command that converts them) |',
             '|---|---|---|---:|---:|---:|---|---|']
    for r in rows:
        v = r['variant']
        lines.append(
            f'| {r["name"]} | {v.official} | {r["params"] / 1e6:.2f}M / {v.params_m:.2f}M '
            f'| {r["flops"] / 1e9:.2f} | {v.input_size} | '
            f'{"—" if v.top1 is None else f"{v.top1:.2f}"} | [{Path(v.config).name}]'
            f'(../{v.config}) | `{f"mmfish://{v.name}" if v.files else v.convert_command()}` |')
    return '\n'.join(lines)


def format_files() -> str:
    """The table of released files of ``docs/converters.md``: for every published variant,
    the files released for it (as named when released) and the command that converts them."""
    lines = ['| variant | released file | top-1 | convert |', '|---|---|---:|---|']
    for v in VARIANTS.values():
        files = ', '.join(f'`{f}`' for f in v.files) or 'not named in the release: any name'
        top1 = f'{v.top1:.2f}' if v.top1 is not None else 'no released weights'
        lines.append(f'| {v.name} | {files} | {top1} | `{v.convert_command()}` |')
    return '\n'.join(lines)


def format_weights() -> str:
    """The table of ``docs/weights.md``: every released file (the variants' and the toolboxes'
    trained models'), its ``mmfish://`` name, and each of its sources in the order they are
    tried, with the pin that verifies what the source serves."""
    lines = ['| name | file | # | source | pin |', '|---|---|---:|---|---|']
    rows = [(v.name, v.files[0], v.sources) for v in VARIANTS.values() if v.files]
    rows += [(t.name, t.file, t.sources) for t in TRAINED.values()]
    for name, file, sources in rows:
        for i, source in enumerate(sources, 1):
            first = i == 1
            lines.append(f'| {f"`mmfish://{name}`" if first else ""} '
                         f'| {f"`{file}`" if first else ""} | {i} | {source.location} '
                         f'| {source.describe_pin(file)} |')
    return '\n'.join(lines)


def _score(value) -> str:
    return str(value)


def format_trained() -> str:
    """The table of the toolboxes' trained models of ``docs/models.md``: each model, its
    published scores and source, the mmfish config that builds it and its ``mmfish://`` name."""
    lines = ['| toolbox | model | dataset | published scores | mmfish config | weights |',
             '|---|---|---|---|---|---|']
    for t in TRAINED.values():
        scores = ', '.join(f'{m} {_score(v)}' for m, v in t.scores.items())
        lines.append(f'| {t.toolbox} | [{t.model}]({t.url}) | {t.dataset} | {scores} | '
                     f'[{Path(t.config).name}](../{t.config}) | `mmfish://{t.name}` |')
    return '\n'.join(lines)
