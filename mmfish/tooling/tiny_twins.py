"""The tiny twins: full mmfish configs shrunk to the tiny datasets, one per toolbox and family,
and what ``make demo`` and the end-to-end tests run of them."""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from . import checkout_root
from .mim_runs import last_checkpoint, run_mim, test_metrics, train_history

RESULT_FILE = 'tiny_run.json'  #: what run_twin leaves in a work dir


@dataclass(frozen=True)
class TinyTwin:
    toolbox: str  #: mmdet, mmseg or mmpretrain
    config: str  #: path relative to the checkout's root
    metrics: Sequence[str]  #: the metrics to report, as the toolbox names them
    chance: Dict[str, float]  #: what each metric is at chance level

    @property
    def name(self) -> str:
        return Path(self.config).stem

    def work_dir(self, root: str = 'work_dirs') -> str:
        return str(Path(root) / self.name)


_CLS = dict(metrics=('accuracy/top1', ), chance={'accuracy/top1': 100 / 3})
_DET = dict(metrics=('coco/bbox_mAP', 'coco/segm_mAP'),
            chance={'coco/bbox_mAP': 0.0, 'coco/segm_mAP': 0.0})
_SEG = dict(metrics=('mIoU', ), chance={'mIoU': 20.0})  # uniform guess over 3 balanced classes

_TINY = 'configs/tiny'
#: every tiny twin; the first of each toolbox is the one ``make demo`` and the tests run
TWINS: List[TinyTwin] = [
    TinyTwin('mmpretrain', f'{_TINY}/mmpretrain/resnest50_1xb16-200i_tiny-imagenet.py', **_CLS),
    TinyTwin('mmdet', f'{_TINY}/mmdet/mask-rcnn_resnest50_fpn_1xb4-150i_tiny-coco.py', **_DET),
    TinyTwin('mmseg', f'{_TINY}/mmseg/deeplabv3_resnest50-d8_1xb4-100i_tiny-ade20k.py', **_SEG),
    TinyTwin('mmpretrain', f'{_TINY}/mmpretrain/res2net50-w26-s4_1xb16-200i_tiny-imagenet.py',
             **_CLS),
    TinyTwin('mmdet', f'{_TINY}/mmdet/mask-rcnn_res2net50-v1b_fpn_1xb4-150i_tiny-coco.py', **_DET),
    TinyTwin('mmseg', f'{_TINY}/mmseg/pspnet_res2net50-v1b-d8_1xb4-100i_tiny-ade20k.py', **_SEG),
    TinyTwin('mmpretrain', f'{_TINY}/mmpretrain/fishnet150_1xb16-200i_tiny-imagenet.py', **_CLS),
    TinyTwin('mmdet', f'{_TINY}/mmdet/mask-rcnn_fishnet150_fpn_1xb4-150i_tiny-coco.py', **_DET),
    TinyTwin('mmseg', f'{_TINY}/mmseg/fcn_fishnet150_1xb4-100i_tiny-ade20k.py', **_SEG),
]


def demo_twins() -> List[TinyTwin]:
    """One twin per toolbox: the first of each in :data:`TWINS`."""
    seen, out = set(), []
    for twin in TWINS:
        if twin.toolbox not in seen:
            seen.add(twin.toolbox)
            out.append(twin)
    return out


def run_twin(twin: TinyTwin, work_root: str = 'work_dirs', log: Callable = print,
             cfg_options: Optional[Sequence[str]] = None, cwd: Optional[str] = None,
             root: Optional[str] = None) -> dict:
    """``mim train`` then ``mim test`` one twin of the checkout ``root`` (default: the current
    directory); return its metrics, losses and timings.

    Run in ``cwd`` (default: the current directory), where ``data/tiny`` must exist.
    """
    work_dir = str(Path(cwd or '.') / twin.work_dir(work_root))
    extra = ['--cfg-options', *cfg_options] if cfg_options else []
    config = str(checkout_root(root) / twin.config)
    train_seconds = run_mim('train', twin.toolbox, config, work_dir, extra, log=log, cwd=cwd)
    checkpoint = last_checkpoint(work_dir)
    test_seconds = run_mim('test', twin.toolbox, config, work_dir,
                           ['--checkpoint', checkpoint, *extra], log=log, cwd=cwd)
    logged = [h for h in train_history(work_dir) if 'loss' in h]
    losses = [h['loss'] for h in logged]
    metrics = test_metrics(work_dir)
    result = dict(twin=twin.name, work_dir=work_dir, checkpoint=checkpoint, losses=losses,
                  iters=logged[-1]['iter'] if logged else 0,
                  metrics={k: metrics.get(k) for k in twin.metrics},
                  train_seconds=train_seconds, test_seconds=test_seconds)
    (Path(work_dir) / RESULT_FILE).write_text(json.dumps(result, indent=1))
    return result


def collect_results(work_root: str = 'work_dirs') -> List[dict]:
    """The results that :func:`run_twin` saved under ``work_root``, in :data:`TWINS` order."""
    results = []
    for twin in TWINS:
        path = Path(twin.work_dir(work_root)) / RESULT_FILE
        if path.exists():
            results.append(json.loads(path.read_text()))
    return results


def twin_by_name(name: str) -> TinyTwin:
    return next(t for t in TWINS if t.name == name)


def results_table(rows: List[dict], links: bool = False) -> str:
    """The markdown table of :func:`run_twin` results: iterations, the loss at the first and
    last logged iterations, the test metrics beside their chance level and the wall times
    (``links``: the twin's name links to its config, from ``docs/``)."""
    lines = ['| toolbox | tiny twin | iterations | loss first -> last | test metrics (chance) '
             '| train s | test s |', '|---|---|---:|---|---|---:|---:|']
    for r in rows:
        twin = twin_by_name(r['twin'])
        name = f'[{twin.name}](../{twin.config})' if links else twin.name
        metrics = ', '.join(f'{k} {v:.3f} ({twin.chance[k]:.1f})' for k, v in r['metrics'].items())
        loss = f'{r["losses"][0]:.3f} -> {r["losses"][-1]:.3f}' if r['losses'] else '-'
        lines.append(f'| {twin.toolbox} | {name} | {r["iters"]} | {loss} | {metrics} | '
                     f'{r["train_seconds"]:.0f} | {r["test_seconds"]:.0f} |')
    return '\n'.join(lines)
