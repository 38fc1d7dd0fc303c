"""Run ``mim train`` / ``mim test`` as a user would, show progress, collect metrics.

Used by ``make demo`` (``tools/demo.py``), ``tools/check_resume.py`` and the end-to-end tests.
Each run is a subprocess of the ``mim`` next to this Python; its complete output goes to
``<work_dir>/mim_<action>.log`` while a compact progress line per logged iteration is shown.
:func:`train_kill_resume` SIGKILLs a training run after a checkpoint and resumes it;
:func:`run_distributed_train` trains with several CPU processes under ``torchrun``.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

#: the log lines of MMEngine worth showing while a run goes on
_PROGRESS = re.compile(r'(Iter|Epoch)\((train|val|test)\)\s*(\[\d+\])?\s*\[\s*(\d+)/(\d+)\](.*)')
#: (a head's accuracy keeps its head's name: ``decode.acc_seg`` and ``aux.acc_seg``)
#: (mmpose's keypoint AP and AR: ``coco/AP`` and ``coco/AR``, not the per-threshold ones;
#: mmdet's panoptic quality: ``coco_panoptic/PQ``, ``PQ_th``, ``PQ_st``)
_KEEP = re.compile(r'(?<![\w./])(loss|eta|(?:\w+\.)?acc\w*|accuracy/top1|mIoU|aAcc|mAcc'
                   r'|\w+/\w*mAP\w*|\w+/A[PR]|\w+/PQ\w*)\s*:\s*\S+')


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


def _mim_command(action: str, toolbox: str, config: str, work_dir: str,
                 args: Sequence[str]) -> List[str]:
    return [mim_executable(), action, toolbox, config, '--gpus', '0', '--work-dir', work_dir,
            *args]


class _Run:
    """A subprocess whose output goes to a log file (and its tail kept, and compact progress
    lines shown) from a reader thread, so that the caller can watch files meanwhile.

    With ``own_group``, the subprocess leads a new process group, which :meth:`kill` kills
    as a whole (``mim`` runs the toolbox's ``train.py`` as its own child)."""

    def __init__(self, cmd: List[str], log_path: Path, log: Callable[[str], None],
                 env: Optional[Dict[str, str]], cwd: Optional[str], own_group: bool = False):
        self.cmd, self.log_path, self.tail = cmd, log_path, []
        run_env = dict(os.environ, **(env or {}))
        run_env.setdefault('PYTHONWARNINGS', 'ignore')
        log(f'$ {" ".join(cmd[1:])}')
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=run_env, cwd=cwd,
                                     start_new_session=own_group)
        self.own_group = own_group
        self.reader = threading.Thread(target=self._read, args=(log, ), daemon=True)
        self.reader.start()

    def _read(self, log: Callable[[str], None]) -> None:
        with open(self.log_path, 'w') as out:
            for line in self.proc.stdout:
                out.write(line)
                out.flush()
                self.tail = (self.tail + [line.rstrip()])[-40:]
                compact = _compact(line)
                if compact:
                    log(f'    {compact}')

    def wait(self, timeout: Optional[float] = None) -> float:
        """Wait for the end; return the wall time in seconds. Kills it on a timeout or an
        interrupt (KeyboardInterrupt) and raises."""
        try:
            self.proc.wait(timeout)
        except BaseException:
            self.kill()
            raise
        self.reader.join()
        self.proc.stdout.close()
        return time.perf_counter() - self.start

    def kill(self) -> None:
        """SIGKILL the subprocess (and its process group when it leads one)."""
        if self.proc.poll() is None:
            if self.own_group:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            else:
                self.proc.kill()
        self.proc.wait()
        self.reader.join()
        self.proc.stdout.close()

    def check(self) -> None:
        if self.proc.returncode != 0:
            raise MimError(f'`{" ".join(self.cmd)}` failed with exit code '
                           f'{self.proc.returncode} (full log: {self.log_path}):\n'
                           + '\n'.join(self.tail))


def run_mim(action: str, toolbox: str, config: str, work_dir: str,
            args: Sequence[str] = (), log: Callable[[str], None] = print,
            env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None,
            log_name: Optional[str] = None) -> float:
    """Run ``mim <action> <toolbox> <config> --work-dir <work_dir> [args]`` on the CPU.

    Relative paths (``work_dir``, the configs' data roots) are relative to ``cwd``. The whole
    output goes to ``<work_dir>/<log_name>`` (default ``mim_<action>.log``). Returns the wall
    time in seconds; raises :class:`MimError` with the output's tail when the command fails.
    """
    os.makedirs(os.path.join(cwd or '.', work_dir), exist_ok=True)
    log_path = Path(cwd or '.') / work_dir / (log_name or f'mim_{action}.log')
    run = _Run(_mim_command(action, toolbox, config, work_dir, args), log_path, log, env, cwd)
    seconds = run.wait()
    run.check()
    return seconds


def run_distributed_train(toolbox: str, config: str, work_dir: str, nproc: int,
                          args: Sequence[str] = (), log: Callable[[str], None] = print,
                          env: Optional[Dict[str, str]] = None,
                          cwd: Optional[str] = None) -> float:
    """Train with ``nproc`` CPU processes: ``torchrun --standalone --nproc_per_node <nproc>
    -m mmfish.engine.dist_train <toolbox> <config> --work-dir <work_dir> [args]`` (MMEngine's
    ``pytorch`` launcher, ``gloo``; see :mod:`mmfish.engine.dist_train`). The output goes to
    ``<work_dir>/torchrun_train.log``; returns the wall time, raises :class:`MimError` when the
    run fails."""
    os.makedirs(os.path.join(cwd or '.', work_dir), exist_ok=True)
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
           f'--nproc_per_node={nproc}', '-m', 'mmfish.engine.dist_train', toolbox, config,
           '--work-dir', work_dir, *args]
    run = _Run(cmd, Path(cwd or '.') / work_dir / 'torchrun_train.log', log, env, cwd,
               own_group=True)
    seconds = run.wait()
    run.check()
    return seconds


def checkpoint_step(path: str) -> int:
    """The epoch or iteration of a checkpoint named by MMEngine (``iter_6.pth`` -> 6)."""
    m = re.search(r'(\d+)\.pth$', path)
    if not m:
        raise ValueError(f'not a checkpoint name with a step: {path}')
    return int(m.group(1))


def _saved_step(work_dir: Path) -> int:
    """The step of the checkpoint that ``last_checkpoint`` names, 0 while there is none."""
    try:
        return checkpoint_step((work_dir / 'last_checkpoint').read_text().strip())
    except (OSError, ValueError):
        return 0


def train_kill_resume(toolbox: str, config: str, work_dir: str, kill_at: int,
                      args: Sequence[str] = (), log: Callable[[str], None] = print,
                      env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None,
                      timeout: float = 3600, poll: float = 0.1) -> dict:
    """``mim train`` into ``work_dir``, SIGKILL it as soon as a checkpoint of step
    ``kill_at`` or later is saved, then ``mim train ... --resume`` to the end.

    The kill goes to the whole process group (``mim`` and the toolbox's ``train.py``), so the
    training process dies in whatever it is doing (usually the next iteration), as on a
    preempted machine. ``args`` are passed to both commands. Returns the step of the checkpoint
    that ``last_checkpoint`` named when the process was killed (``killed_after``), the seconds
    until the kill and of the resumed run. Raises :class:`MimError` when the first run ends or
    fails before the checkpoint, or the resumed run fails.
    """
    root = Path(cwd or '.') / work_dir
    root.mkdir(parents=True, exist_ok=True)
    run = _Run(_mim_command('train', toolbox, config, work_dir, args),
               root / 'mim_train_killed.log', log, env, cwd, own_group=True)
    try:
        while _saved_step(root) < kill_at:
            if run.proc.poll() is not None:
                run.wait()
                raise MimError(f'`{" ".join(run.cmd)}` ended (exit code '
                               f'{run.proc.returncode}) before a checkpoint of step {kill_at} '
                               f'(log: {run.log_path}):\n' + '\n'.join(run.tail))
            if time.perf_counter() - run.start > timeout:
                raise MimError(f'no checkpoint of step {kill_at} after {timeout} s')
            time.sleep(poll)
        killed_after = _saved_step(root)
    finally:
        run.kill()
    kill_seconds = time.perf_counter() - run.start
    log(f'    killed (SIGKILL) after {kill_seconds:.1f} s: last checkpoint of step {killed_after}')
    resume_seconds = run_mim('train', toolbox, config, work_dir, [*args, '--resume'], log=log,
                             env=env, cwd=cwd, log_name='mim_train_resumed.log')
    return dict(killed_after=killed_after, kill_seconds=kill_seconds,
                resume_seconds=resume_seconds)


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
