"""Run ``mim train`` / ``mim test`` as a user would, show progress, collect metrics.

Used by ``make demo`` (``tools/demo.py``) and the end-to-end tests. Each run is a subprocess
of the ``mim`` next to this Python; its complete output goes to ``<work_dir>/mim_<action>.log``
while a compact progress line per logged iteration is shown.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

#: the log lines of MMEngine worth showing while a run goes on
_PROGRESS = re.compile(r'(Iter|Epoch)\((train|val|test)\)\s*(\[\d+\])?\s*\[\s*(\d+)/(\d+)\](.*)')
_KEEP = re.compile(r'\b(loss|eta|acc\w*|accuracy/top1|mIoU|aAcc|mAcc|\w+/\w*mAP\w*)\s*:\s*\S+')


class MimError(RuntimeError):
    """A ``mim`` command failed; the message ends with the tail of its output."""


def mim_executable() -> str:
    local = Path(sys.executable).parent / 'mim'
    found = str(local) if local.exists() else shutil.which('mim')
    if not found:
        raise MimError('the mim command was not found: install openmim (make install)')
    return found


def _compact(line: str) -> Optional[str]:
    m = _PROGRESS.search(line)
    if not m:
        return None
    kind, phase, epoch, cur, total, rest = m.groups()
    fields = '  '.join(x.group(0).replace(' ', '') for x in _KEEP.finditer(rest))
    return f'{phase:>5} {epoch or ""}[{cur}/{total}]  {fields}'.rstrip()


def run_mim(action: str, toolbox: str, config: str, work_dir: str,
            args: Sequence[str] = (), log: Callable[[str], None] = print,
            env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None) -> float:
    """Run ``mim <action> <toolbox> <config> --work-dir <work_dir> [args]`` on the CPU.

    Relative paths (``work_dir``, the configs' data roots) are relative to ``cwd``. Returns
    the wall time in seconds; raises :class:`MimError` with the output's tail when the command
    fails.
    """
    os.makedirs(os.path.join(cwd or '.', work_dir), exist_ok=True)
    cmd = [mim_executable(), action, toolbox, config, '--gpus', '0', '--work-dir', work_dir,
           *args]
    log_path = Path(cwd or '.') / work_dir / f'mim_{action}.log'
    log(f'$ {" ".join(cmd[1:])}')
    start = time.perf_counter()
    tail: List[str] = []
    run_env = dict(os.environ, **(env or {}))
    run_env.setdefault('PYTHONWARNINGS', 'ignore')
    with open(log_path, 'w') as out, subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=run_env, cwd=cwd) as proc:
        for line in proc.stdout:
            out.write(line)
            tail = (tail + [line.rstrip()])[-40:]
            compact = _compact(line)
            if compact:
                log(f'    {compact}')
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise MimError(f'`{" ".join(cmd)}` failed with exit code {proc.returncode} '
                       f'(full log: {log_path}):\n' + '\n'.join(tail))
    return seconds


def _runs(work_dir: str) -> List[Path]:
    """Timestamped run directories of a work dir, oldest first."""
    return sorted(p for p in Path(work_dir).iterdir()
                  if p.is_dir() and re.match(r'\d{8}_\d{6}', p.name))


def train_history(work_dir: str) -> List[dict]:
    """The scalars MMEngine logged (``vis_data/scalars.json``) in the last run of a work dir."""
    for run in reversed(_runs(work_dir)):
        path = run / 'vis_data' / 'scalars.json'
        if path.exists():
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return []


def test_metrics(work_dir: str) -> dict:
    """The metrics of the last ``mim test`` in a work dir (``<timestamp>/<timestamp>.json``)."""
    for run in reversed(_runs(work_dir)):
        path = run / f'{run.name}.json'
        if path.exists():
            return json.loads(path.read_text().splitlines()[-1])
    raise MimError(f'no test metrics under {work_dir}')


def last_checkpoint(work_dir: str) -> str:
    pointer = Path(work_dir) / 'last_checkpoint'
    if not pointer.exists():
        raise MimError(f'no checkpoint was saved in {work_dir}')
    return pointer.read_text().strip()
