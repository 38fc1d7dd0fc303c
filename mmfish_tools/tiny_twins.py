"""The tiny twins: full mmfish configs shrunk to the tiny datasets, one per toolbox and family
(:data:`TWINS`, ``tools/run_tiny_twins.py``), their lighter variants that ``make demo`` runs
(:data:`DEMO_TWINS`), and the loss curves and table of their results."""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from . import build_in_scope, checkout_root
from .mim_runs import last_checkpoint, run_mim, test_metrics, train_history

RESULT_FILE = 'tiny_run.json'  #: what run_twin leaves in a work dir


@dataclass(frozen=True)
class TinyTwin:
    toolbox: str  #: mmpretrain, mmdet, mmseg or mmpose (what ``mim train <toolbox>`` takes)
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
# the majority label (background) everywhere, on the val split of seed 0:
# tiny_data.seg_chance of its pixel counts (tests/mmfish_tools/test_tiny_data.py checks these)
_SEG = dict(metrics=('mIoU', 'aAcc'), chance={'mIoU': 20.9, 'aAcc': 83.8})
# the mean pose of the training figures, placed in each ground-truth box, on the val split of
# seed 0: tiny_pose.mean_pose_scores (tests/mmfish_tools/test_tiny_pose.py checks these)
_POSE = dict(metrics=('coco/AP', 'coco/AR'), chance={'coco/AP': 0.0375, 'coco/AR': 0.080})
# the stuff class with the most training pixels over every val image, on seed 0:
# tiny_panoptic.constant_stuff_scores (tests/mmfish_tools/test_tiny_panoptic.py checks PQ and PQ_st)
_PAN = dict(metrics=('coco_panoptic/PQ', 'coco_panoptic/PQ_th', 'coco_panoptic/PQ_st'),
            chance={'coco_panoptic/PQ': 1.34, 'coco_panoptic/PQ_th': 0.0,
                    'coco_panoptic/PQ_st': 2.68})

_TINY = 'configs/tiny'
#: every full tiny twin (tools/run_tiny_twins.py); the first of each toolbox is what the
#: end-to-end tests run (:func:`demo_twins`)
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
    TinyTwin('mmpose', f'{_TINY}/mmpose/td-hm_resnest50_1xb8-120i_tiny-coco-pose.py', **_POSE),
    TinyTwin('mmpose', f'{_TINY}/mmpose/td-hm_res2net50-v1b_1xb8-120i_tiny-coco-pose.py',
             **_POSE),
    TinyTwin('mmpose', f'{_TINY}/mmpose/td-hm_fishnet150_1xb8-120i_tiny-coco-pose.py', **_POSE),
    TinyTwin('mmdet', f'{_TINY}/mmdet/panoptic-fpn_resnest50_fpn_1xb4-100i_tiny-coco-panoptic.py',
             **_PAN),
]


_DEMO = 'configs/tiny/demo'
#: what ``make demo`` runs, in this order: per toolbox, a twin of :data:`TWINS` made lighter
#: (narrower, smaller images, fewer iterations) so that all of them train and test in a few
#: minutes on 2 CPU cores. Showing another toolbox is a matter of adding its twin here.
DEMO_TWINS: List[TinyTwin] = [
    TinyTwin('mmpretrain', f'{_DEMO}/resnest50-w16_1xb16-60i_tiny-imagenet.py', **_CLS),
    TinyTwin('mmdet', f'{_DEMO}/mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco.py', **_DET),
    TinyTwin('mmseg', f'{_DEMO}/deeplabv3_resnest50-w16-d8_1xb4-300i_tiny-ade20k-96px.py',
             **_SEG),
    TinyTwin('mmpose', f'{_DEMO}/td-hm_resnest50-w16_1xb8-150i_tiny-coco-pose.py', **_POSE),
]


def demo_twins() -> List[TinyTwin]:
    """One full twin per toolbox, the first of each in :data:`TWINS`: what the end-to-end,
    resume and GPU checks run (``make demo`` runs their lighter :data:`DEMO_TWINS`)."""
    seen, out = set(), []
    for twin in TWINS:
        if twin.toolbox not in seen:
            seen.add(twin.toolbox)
            out.append(twin)
    return out


def run_twin(twin: TinyTwin, work_root: str = 'work_dirs', log: Callable = print,
             cfg_options: Optional[Sequence[str]] = None, cwd: Optional[str] = None,
             root: Optional[str] = None, env: Optional[Dict[str, str]] = None,
             untrained: bool = False) -> dict:
    """``mim train`` then ``mim test`` one twin of the checkout ``root`` (default: the current
    directory); return its metrics, losses and timings (``untrained``: also the metrics of
    its untrained model, :func:`run_untrained`).

    Run in ``cwd`` (default: the current directory), where ``data/tiny`` must exist, with
    ``env`` added to the environment (e.g. ``OMP_NUM_THREADS``).
    """
    work_dir = str(Path(cwd or '.') / twin.work_dir(work_root))
    extra = ['--cfg-options', *cfg_options] if cfg_options else []
    config = str(checkout_root(root) / twin.config)
    train_seconds = run_mim('train', twin.toolbox, config, work_dir, extra, log=log, cwd=cwd,
                            env=env)
    checkpoint = last_checkpoint(work_dir)
    test_seconds = run_mim('test', twin.toolbox, config, work_dir,
                           ['--checkpoint', checkpoint, *extra], log=log, cwd=cwd, env=env)
    logged = [h for h in train_history(work_dir) if 'loss' in h]
    losses = [h['loss'] for h in logged]
    metrics = test_metrics(work_dir)
    result = dict(twin=twin.name, work_dir=work_dir, checkpoint=checkpoint, losses=losses,
                  loss_iters=[h['iter'] for h in logged],
                  iters=logged[-1]['iter'] if logged else 0,
                  metrics={k: metrics.get(k) for k in twin.metrics},
                  train_seconds=train_seconds, test_seconds=test_seconds)
    if untrained:
        result['untrained'] = run_untrained(twin, work_root, log, cfg_options, cwd, root, env)
    (Path(work_dir) / RESULT_FILE).write_text(json.dumps(result, indent=1))
    return result


def save_initial_checkpoint(twin: TinyTwin, path: str, root: Optional[str] = None) -> str:
    """Save the twin's model as ``mim train`` starts it (the config's seed, then the model's
    ``init_weights``), untrained, as a checkpoint that ``mim test`` loads; return ``path``."""
    import torch
    from mmengine.config import Config
    from mmengine.runner import set_random_seed
    cfg = Config.fromfile(str(checkout_root(root) / twin.config))
    randomness = cfg.get('randomness') or {}
    set_random_seed(randomness.get('seed', 0), deterministic=randomness.get('deterministic',
                                                                            False))
    model = build_in_scope(twin.toolbox, cfg.model)
    model.init_weights()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(untrained=True)), path)
    return path


def run_untrained(twin: TinyTwin, work_root: str = 'work_dirs', log: Callable = print,
                  cfg_options: Optional[Sequence[str]] = None, cwd: Optional[str] = None,
                  root: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> dict:
    """``mim test`` of the twin's untrained model (:func:`save_initial_checkpoint`), in the
    work dir ``<twin>_untrained``: the metrics that training must beat."""
    work_dir = str(Path(cwd or '.') / work_root / f'{twin.name}_untrained')
    checkpoint = save_initial_checkpoint(twin, str(Path(work_dir) / 'initial.pth'), root)
    extra = ['--cfg-options', *cfg_options] if cfg_options else []
    run_mim('test', twin.toolbox, str(checkout_root(root) / twin.config), work_dir,
            ['--checkpoint', checkpoint, *extra], log=log, cwd=cwd, env=env)
    metrics = test_metrics(work_dir)
    return {k: metrics.get(k) for k in twin.metrics}


def collect_results(work_root: str = 'work_dirs') -> List[dict]:
    """The results that :func:`run_twin` saved under ``work_root``, in :data:`TWINS` order."""
    results = []
    for twin in TWINS:
        path = Path(twin.work_dir(work_root)) / RESULT_FILE
        if path.exists():
            results.append(json.loads(path.read_text()))
    return results


def machine() -> dict:
    """What a tiny run's times depend on: the date, the CPU's vector ISA as PyTorch's kernels
    see it, the threads and torch's version."""
    import datetime
    import os
    import platform

    import torch
    return dict(date=datetime.date.today().isoformat(), arch=platform.machine(),
                isa=torch.backends.cpu.get_cpu_capability(), cores=os.cpu_count(),
                torch=torch.__version__)


def merge_results(path: str, rows: List[dict], measured: Optional[dict] = None) -> List[dict]:
    """Add ``rows`` (:func:`run_twin` results, each stamped with ``measured``, default
    :func:`machine`) to the results kept in the JSON file ``path``, replacing earlier results
    of the same twins; write the file (atomically) and return its rows in :data:`TWINS`
    order. Results of twins no longer in :data:`TWINS` are dropped."""
    measured = measured or machine()
    file = Path(path)
    kept = {r['twin']: r for r in (json.loads(file.read_text()) if file.exists() else [])}
    for row in rows:  # without the paths of this machine's work dir
        kept[row['twin']] = {k: v for k, v in dict(row, measured=measured).items()
                             if k not in ('work_dir', 'checkpoint')}
    merged = [kept[t.name] for t in TWINS if t.name in kept]
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f'.{file.name}.tmp')
    tmp.write_text(json.dumps(merged, indent=1) + '\n')
    tmp.replace(file)
    return merged


def twin_by_name(name: str) -> TinyTwin:
    """The twin of :data:`TWINS` or :data:`DEMO_TWINS` of that name."""
    for twin in (*TWINS, *DEMO_TWINS):
        if twin.name == name:
            return twin
    raise KeyError(f'no tiny twin named {name!r}; the twins are '
                   f'{[t.name for t in (*TWINS, *DEMO_TWINS)]}')


def plot_losses(rows: List[dict], path: str) -> str:
    """Write a PNG of the training loss against the iteration of each :func:`run_twin` result
    (one panel per twin, the loss on a log scale) to ``path``; return ``path``."""
    import matplotlib
    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.4), squeeze=False)
    for ax, r in zip(axes[0], rows):
        twin = twin_by_name(r['twin'])
        steps = r.get('loss_iters') or list(range(1, len(r['losses']) + 1))
        ax.plot(steps, r['losses'], marker='.', color='tab:blue')
        ax.set_yscale('log')
        ax.set_title(f'{twin.toolbox}\n{twin.name}', fontsize=7)
        scores = '\n'.join(f'test {k} {v:.3g} (chance {twin.chance[k]:.3g})'
                            for k, v in r['metrics'].items() if v is not None)
        ax.set_xlabel(f'iteration\n{scores}', fontsize=8)
        ax.set_ylabel('training loss (log scale)')
        ax.grid(True, which='both', alpha=0.3)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def results_table(rows: List[dict], links: bool = False) -> str:
    """The markdown table of :func:`run_twin` results: iterations, the loss at the first and
    last logged iterations, the test metrics beside their chance level (the row's own
    ``chance``, where data measured earlier had another, else the twin's; and the untrained
    model's, :func:`run_untrained`, where a result has them under ``untrained``) and the wall
    times (``links``: the twin's name links to its config, from ``docs/``), and when the rows
    carry one (:func:`merge_results`), where and when each was measured."""
    stamped = any('measured' in r for r in rows)
    lines = ['| toolbox | tiny twin | iterations | loss first -> last | test metrics (chance) '
             '| train s | test s |' + (' measured |' if stamped else ''),
             '|---|---|---:|---|---|---:|---:|' + ('---|' if stamped else '')]
    for r in rows:
        twin = twin_by_name(r['twin'])
        name = f'[{twin.name}](../{twin.config})' if links else twin.name
        untrained = r.get('untrained') or {}
        metrics = ', '.join(
            f'{k} {v:.3f} ({(r.get("chance") or twin.chance)[k]:.3g}'
            + (f'; untrained {untrained[k]:.3f}' if untrained.get(k) is not None else '') + ')'
            for k, v in r['metrics'].items())
        loss = f'{r["losses"][0]:.3f} -> {r["losses"][-1]:.3f}' if r['losses'] else '-'
        stamp = r.get('measured') or {}
        note = f'; {stamp["note"]}' if stamp.get('note') else ''
        when = (f' {stamp.get("date", "?")}, {stamp.get("isa") or "ISA not recorded"}, '
                f'{stamp.get("cores", "?")} cores{note} |' if stamped else '')
        lines.append(f'| {twin.toolbox} | {name} | {r["iters"]} | {loss} | {metrics} | '
                     f'{r["train_seconds"]:.0f} | {r["test_seconds"]:.0f} |' + when)
    return '\n'.join(lines)
