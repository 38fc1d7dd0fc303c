"""Training with MMEngine's Runner, saving, and resuming on torch >= 2.6 (weights-only
loading by default): the resumed run continues where it stopped with the same state. And
MMEngine's loader of ``http(s)://`` checkpoints: a URL cannot name a file outside the cache."""
import io
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmfish.models import ResNeSt

from tests.checkpoint.scripted_server import scripted_server as serve_scripted

scripted_server = pytest.fixture(serve_scripted)


class TinyClassifier(BaseModel):

    def __init__(self):
        super().__init__()
        self.backbone = ResNeSt(depth=50, base_channels=8, stem_channels=16, out_indices=(3, ))
        self.fc = torch.nn.Linear(self.backbone.out_channels[-1], 3)

    def forward(self, inputs, labels, mode='loss'):
        logits = self.fc(self.backbone(inputs)[-1].mean((2, 3)))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return logits


class RandomImages(Dataset):
    metainfo = dict(classes=('a', 'b', 'c'))

    def __len__(self):
        return 12

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.rand(3, 32, 32, generator=g), labels=i % 3)


class RecordIters(Hook):

    def __init__(self):
        self.iters = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.iters.append(runner.iter)


def _runner(work_dir, max_iters, resume_from=None):
    record = RecordIters()
    runner = Runner(
        model=TinyClassifier(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=RandomImages(), batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                                          weight_decay=1e-4)),
        param_scheduler=dict(type='MultiStepLR', milestones=[4], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[record],
        randomness=dict(seed=0, deterministic=True),
        load_from=resume_from, resume=resume_from is not None,
        default_scope='mmengine')
    return runner, record


def test_resume_continues_with_the_same_state(tmp_path):
    assert torch.__version__ >= '2.6'  # weights_only=True is torch.load's default here
    full, _ = _runner(tmp_path / 'full', max_iters=6)
    full.train()
    checkpoint = tmp_path / 'full' / 'iter_3.pth'
    assert checkpoint.exists()

    resumed, record = _runner(tmp_path / 'resumed', max_iters=6, resume_from=str(checkpoint))
    resumed.train()
    assert record.iters == [3, 4, 5]  # continues at iteration 3, not from scratch

    final_full = torch.load(tmp_path / 'full' / 'iter_6.pth')
    final_resumed = torch.load(tmp_path / 'resumed' / 'iter_6.pth')
    for key, value in final_full['state_dict'].items():
        torch.testing.assert_close(final_resumed['state_dict'][key], value, rtol=0, atol=0)
    momentum_full = final_full['optimizer']['state']
    momentum_resumed = final_resumed['optimizer']['state']
    assert momentum_full.keys() == momentum_resumed.keys() and momentum_full
    for key in momentum_full:
        torch.testing.assert_close(momentum_resumed[key]['momentum_buffer'],
                                   momentum_full[key]['momentum_buffer'], rtol=0, atol=0)
    assert final_resumed['param_schedulers'] == final_full['param_schedulers']
    assert final_resumed['meta']['iter'] == 6


def test_without_mmfish_torch_refuses_the_checkpoint(tmp_path):
    """The allow-list is what makes the resume above work: a process that has not imported
    mmfish cannot load the same checkpoint with torch's defaults."""
    runner, _ = _runner(tmp_path, max_iters=3)
    runner.train()
    code = f'import torch; torch.load({str(tmp_path / "iter_3.pth")!r})'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode != 0
    assert 'HistoryBuffer' in result.stderr


def _tree(root):
    """Every path under ``root`` (links not followed), with its size or link target."""
    import os
    return {str(p.relative_to(root)): (os.readlink(p) if p.is_symlink() else
                                       p.stat().st_size if p.is_file() else 'dir')
            for p in root.rglob('*')}


@pytest.mark.parametrize('form', ['relative', 'absolute', 'backslash', 'double-encoded',
                                  'dot-dot', 'nul', 'no-name'])
def test_a_crafted_checkpoint_url_writes_nothing_outside_the_cache(form, scripted_server,
                                                                    tmp_path, monkeypatch):
    """The URL's last segment names the cached file: in every encoded form that would leave
    ``$TORCH_HOME/hub/checkpoints`` (or read a file outside it), MMEngine's loader of the URL
    refuses it before asking the server, and nothing appears or changes anywhere."""
    from urllib.parse import quote

    from mmengine.runner.checkpoint import CheckpointLoader

    from mmfish.checkpoint.download import DownloadError
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.delenv('MMFISH_MIRROR', raising=False)
    secret = tmp_path / 'secret.pth'  # a checkpoint outside the cache that a URL names
    torch.save({'conv.weight': torch.zeros(1)}, secret)
    (tmp_path / 'site-packages').mkdir()
    segment, problem = {
        'relative': ('..%2F..%2F..%2Fsecret.pth', 'holds a path separator'),
        'absolute': (quote(str(tmp_path / 'site-packages' / 'evil.pth'), safe=''),
                     'holds a path separator'),
        'backslash': ('..%5C..%5C..%5Cescaped.pth', 'holds a path separator'),
        'double-encoded': ('..%252F..%252F..%252Fescaped.pth', 'still holds a %-escape'),
        'dot-dot': ('%2E%2E', 'names a folder'),
        'nul': ('model%00.pth', 'holds a NUL character'),
        'no-name': ('', 'is empty'),
    }[form]
    url = f'{scripted_server.url}/models/{segment}'
    before = _tree(tmp_path)
    with pytest.raises(DownloadError, match=f'^{re.escape(url)}: the file name .* that the URL '
                                            f'ends with {re.escape(problem)}'):
        CheckpointLoader.load_checkpoint(url, map_location='cpu')
    assert _tree(tmp_path) == before
    assert scripted_server.requests == {}


def test_a_checkpoint_url_is_cached_under_its_name_and_a_broken_cached_file_is_named(
        scripted_server, tmp_path, monkeypatch):
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmfish.checkpoint import CheckpointError
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.delenv('MMFISH_MIRROR', raising=False)
    buffer = io.BytesIO()
    torch.save({'conv.weight': torch.ones(2)}, buffer)
    url = scripted_server.answer('/my%20model.pth', buffer.getvalue())
    loaded = CheckpointLoader.load_checkpoint(f'{url}?dl=1',
                                              map_location='cpu')
    assert torch.equal(loaded['conv.weight'], torch.ones(2))
    cache = tmp_path / 'torch' / 'hub' / 'checkpoints'
    assert (cache / 'my model.pth').is_file()
    (cache / 'my model.pth').write_bytes(b'not a checkpoint')  # damaged in the cache
    broken = str(cache / 'my model.pth')
    with pytest.raises(CheckpointError, match=re.escape(
            f"The cached file {broken} cannot be read: delete it (rm '{broken}') to fetch it "
            'anew')):
        CheckpointLoader.load_checkpoint(url, map_location='cpu')
    assert scripted_server.requests == {'/my%20model.pth': 1}
