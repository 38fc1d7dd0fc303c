"""Does a training run killed midway and resumed end where the uninterrupted run ends?

:func:`check_resume` trains a config twice through ``mim train`` with the same arguments:
once without interruption (``<root>/uninterrupted``), once SIGKILLed as soon as a checkpoint
of step ``kill_at`` or later exists and then resumed with ``--resume``
(``<root>/interrupted``); then it compares the final checkpoints tensor by tensor
(:func:`compare_checkpoints`). ``tools/check_resume.py`` is its command line, and
``tests/test_resume_kill.py`` runs it for one tiny twin per toolbox.
"""
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import torch

from .mim_runs import last_checkpoint, run_mim, train_history, train_kill_resume


def _tensors(tree, prefix: str = '') -> Dict[str, torch.Tensor]:
    """Every tensor in nested dicts / lists, by its path (``state.3.momentum_buffer``)."""
    if isinstance(tree, torch.Tensor):
        return {prefix: tree}
    items = tree.items() if isinstance(tree, dict) else (
        enumerate(tree) if isinstance(tree, (list, tuple)) else ())
    out = {}
    for key, value in items:
        out.update(_tensors(value, f'{prefix}.{key}' if prefix else str(key)))
    return out


def compare_tensors(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> dict:
    """``exact`` (same keys, dtypes, shapes and values), the largest absolute difference and
    where it is, and the keys that differ."""
    if a.keys() != b.keys():
        return dict(exact=False, tensors=len(a), max_abs_diff=float('inf'), worst=None,
                    differing=sorted(set(a) ^ set(b)))
    differing, worst, max_diff = [], None, 0.0
    for key, x in a.items():
        y = b[key]
        if x.dtype != y.dtype or x.shape != y.shape:
            differing.append(key)
            max_diff, worst = float('inf'), key
            continue
        if torch.equal(x, y):
            continue
        differing.append(key)
        diff = (x.double() - y.double()).abs().max().item() if x.numel() else 0.0
        if diff > max_diff or worst is None:
            max_diff, worst = diff, key
    return dict(exact=not differing, tensors=len(a), max_abs_diff=max_diff, worst=worst,
                differing=differing)


def compare_checkpoints(path_a: str, path_b: str) -> dict:
    """Compare two MMEngine checkpoints: ``state_dict`` (weights and buffers) and the
    optimizer's state (:func:`compare_tensors` of each)."""
    a, b = torch.load(path_a, map_location='cpu'), torch.load(path_b, map_location='cpu')
    return dict(state_dict=compare_tensors(a['state_dict'], b['state_dict']),
                optimizer=compare_tensors(_tensors(a.get('optimizer', {})),
                                          _tensors(b.get('optimizer', {}))),
                iters=(a['meta'].get('iter'), b['meta'].get('iter')))


def check_resume(toolbox: str, config: str, root: str, kill_at: int,
                 args: Sequence[str] = (), log: Callable[[str], None] = print,
                 cwd: Optional[str] = None) -> dict:
    """Train ``config`` uninterrupted and killed-and-resumed (see the module documentation),
    with the same ``args`` (``--cfg-options ...``); return what :func:`compare_checkpoints`
    says of the two final checkpoints, the losses both logged, and the timings."""
    base = Path(cwd or '.')
    full, killed = str(Path(root) / 'uninterrupted'), str(Path(root) / 'interrupted')
    full_seconds = run_mim('train', toolbox, config, full, args, log=log, cwd=cwd)
    interrupted = train_kill_resume(toolbox, config, killed, kill_at, args, log=log, cwd=cwd)
    ckpt_full, ckpt_resumed = last_checkpoint(str(base / full)), last_checkpoint(
        str(base / killed))
    result = compare_checkpoints(ckpt_full, ckpt_resumed)

    def losses(work_dir):
        return {h['iter']: h['loss'] for h in train_history(str(base / work_dir)) if 'loss' in h}

    result.update(checkpoints=(ckpt_full, ckpt_resumed), losses=losses(full),
                  resumed_losses=losses(killed), full_seconds=full_seconds, **interrupted)
    return result
