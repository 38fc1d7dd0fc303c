"""A process killed (SIGKILL) in the middle of saving a checkpoint: with
``mmfish.AtomicCheckpointHook`` every ``*.pth`` in the work dir is complete, ``last_checkpoint``
names a loadable checkpoint and ``--resume`` works; MMEngine's own ``CheckpointHook`` leaves a
truncated file and, with ``max_keep_ckpts``, no checkpoint at all."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

# A training run whose checkpoints (32 MB: a 2048x2048 layer and its SGD momentum) are written
# slowly, 1 MB every 50 ms, as on a slow disk, so that the kill surely lands inside a write.
CHILD = '''
import os, sys, time
import torch
from mmengine.fileio.backends import LocalBackend
from mmengine.model import BaseModel
from mmengine.runner import Runner
import mmfish  # noqa: F401

hook, work_dir, max_iters, resume, slow = sys.argv[1:6]

def slow_put(self, obj, filepath):
    os.makedirs(os.path.dirname(filepath), exist_ok=True)
    with open(filepath, 'wb') as f:
        for i in range(0, len(obj), 1 << 20):
            f.write(obj[i:i + (1 << 20)])
            f.flush()
            time.sleep(0.05)

if slow == '1':
    LocalBackend.put = slow_put

class Big(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2048, 2048)

    def forward(self, inputs, mode='loss'):
        return dict(loss=self.fc(inputs).pow(2).mean())

class Data(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.full((2048, ), float(i) / 8))

Runner(
    model=Big(), work_dir=work_dir,
    train_dataloader=dict(dataset=Data(), batch_size=2, num_workers=0,
                          sampler=dict(type='DefaultSampler', shuffle=False),
                          collate_fn=dict(type='default_collate')),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
    train_cfg=dict(by_epoch=False, max_iters=int(max_iters)),
    default_hooks=dict(checkpoint=dict(type=hook, interval=1, by_epoch=False,
                                       max_keep_ckpts=1),
                       logger=dict(type='LoggerHook', interval=1)),
    resume=resume == '1', default_scope='mmengine').train()
'''


def _run(tmp_path, hook, work_dir, max_iters=3, resume=False, slow=True):
    script = tmp_path / 'child.py'
    script.write_text(CHILD)
    cmd = [sys.executable, str(script), hook, str(work_dir), str(max_iters),
           '1' if resume else '0', '1' if slow else '0']
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _kill_when(proc, appears: Path, timeout=300):
    """SIGKILL the child's process group as soon as ``appears`` exists (a write started)."""
    start = time.time()
    while not appears.exists():
        assert proc.poll() is None, f'the child ended first:\n{proc.stdout.read()}'
        assert time.time() - start < timeout
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _loadable(path: Path) -> bool:
    try:
        torch.load(path, map_location='cpu')
        return True
    except Exception:  # truncated: a zip without its central directory, EOFError, ...
        return False


def test_killed_during_save_leaves_complete_checkpoints(tmp_path):
    work_dir = tmp_path / 'atomic'
    proc = _run(tmp_path, 'mmfish.AtomicCheckpointHook', work_dir)
    # iteration 2's checkpoint is being written to its temporary file: kill
    _kill_when(proc, work_dir / '.iter_2.pth.part')
    assert proc.returncode == -signal.SIGKILL
    part = work_dir / '.iter_2.pth.part'
    assert part.exists() and not _loadable(part)  # the kill did cut the write short
    # the destination is absent (or, had the rename happened, complete)
    assert not (work_dir / 'iter_2.pth').exists() or _loadable(work_dir / 'iter_2.pth')
    # every checkpoint present is complete; max_keep_ckpts did not delete iter_1 before
    # iter_2 was complete; last_checkpoint names a loadable checkpoint
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['iter_1.pth']
    assert all(_loadable(p) for p in work_dir.glob('*.pth'))
    named = Path((work_dir / 'last_checkpoint').read_text())
    assert named == work_dir / 'iter_1.pth' and _loadable(named)

    # --resume continues from iteration 1, removes the leftover and ends complete
    resumed = _run(tmp_path, 'mmfish.AtomicCheckpointHook', work_dir, resume=True, slow=False)
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    assert 'resumed epoch: 0, iter: 1' in out and 'left by an interrupted save' in out
    assert not part.exists()
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['iter_3.pth']
    final = torch.load(work_dir / 'iter_3.pth', map_location='cpu')
    assert final['meta']['iter'] == 3
    assert Path((work_dir / 'last_checkpoint').read_text()) == work_dir / 'iter_3.pth'


def test_mmengine_checkpoint_hook_is_not_atomic(tmp_path):
    """Why the hook exists: the same kill with MMEngine 0.10.7's CheckpointHook."""
    work_dir = tmp_path / 'plain'
    proc = _run(tmp_path, 'CheckpointHook', work_dir)
    _kill_when(proc, work_dir / 'iter_2.pth')
    assert (work_dir / 'iter_2.pth').exists() and not _loadable(work_dir / 'iter_2.pth')
    assert not (work_dir / 'iter_1.pth').exists()  # deleted before iter_2 was written
    assert Path((work_dir / 'last_checkpoint').read_text()) == work_dir / 'iter_1.pth'


@pytest.mark.parametrize('text', ['a', 'b' * 10000])
def test_write_text_atomic(tmp_path, text):
    from mmfish.engine import write_text_atomic
    path = tmp_path / 'last_checkpoint'
    path.write_text('old')
    write_text_atomic(str(path), text)
    assert path.read_text() == text and [p.name for p in tmp_path.iterdir()] == [path.name]
