"""Training with MMEngine's Runner, saving, and resuming on torch >= 2.6 (weights-only
loading by default): the resumed run continues where it stopped with the same state."""
import subprocess
import sys

import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmfish.models import ResNeSt


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
