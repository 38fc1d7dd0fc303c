"""``mmfish.StepSeedHook``: a run resumed from a checkpoint draws the same random numbers as
the uninterrupted run (data augmentation with NumPy, dropout with torch, Python's random), so
it ends with identical weights; without the hook it does not."""
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.runner import EpochBasedTrainLoop, Runner

from mmfish.engine import StepSeedHook, step_seed


class NoisyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(8, 16), torch.nn.Linear(16, 3)

    def forward(self, inputs, labels, mode='loss'):
        hidden = F.dropout(self.fc1(inputs).relu(), 0.5, training=self.training)
        logits = self.fc2(hidden) * (1 + random.random())  # Python's generator too
        return dict(loss=F.cross_entropy(logits, labels))


class AugmentedData(torch.utils.data.Dataset):
    """Noise from NumPy's global generator, as the toolboxes' random transforms draw it."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        base = torch.linspace(-1, 1, 8) * (i + 1)
        noise = torch.from_numpy(np.random.normal(0, 0.1, 8).astype(np.float32))
        return dict(inputs=base + noise, labels=i % 3)


def _train(work_dir, hooks, by_epoch=False, resume_from=None, max_iters=6):
    loop = (dict(by_epoch=True, max_epochs=3) if by_epoch
            else dict(by_epoch=False, max_iters=max_iters))
    runner = Runner(
        model=NoisyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=AugmentedData(), batch_size=4, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=loop,
        default_hooks=dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook', interval=1,
                                           by_epoch=by_epoch)),
        custom_hooks=hooks, randomness=dict(seed=3, deterministic=True),
        load_from=resume_from, resume=resume_from is not None, default_scope='mmengine',
        experiment_name=str(work_dir))
    runner.train()
    return runner


def _final_weights(work_dir, name):
    return torch.load(work_dir / name, map_location='cpu')['state_dict']


@pytest.mark.parametrize('by_epoch', [False, True], ids=['iter-based', 'epoch-based'])
def test_resume_is_exact_with_the_hook(tmp_path, by_epoch):
    hooks = [dict(type='mmfish.StepSeedHook')]
    unit, last = ('epoch', 3) if by_epoch else ('iter', 6)
    _train(tmp_path / 'full', hooks, by_epoch)
    _train(tmp_path / 'resumed', hooks, by_epoch,
           resume_from=str(tmp_path / 'full' / f'{unit}_1.pth'))
    full = _final_weights(tmp_path / 'full', f'{unit}_{last}.pth')
    resumed = _final_weights(tmp_path / 'resumed', f'{unit}_{last}.pth')
    for key, value in full.items():
        assert torch.equal(resumed[key], value), key


def test_resume_differs_without_the_hook(tmp_path):
    _train(tmp_path / 'full', [])
    _train(tmp_path / 'resumed', [], resume_from=str(tmp_path / 'full' / 'iter_3.pth'))
    full = _final_weights(tmp_path / 'full', 'iter_6.pth')
    resumed = _final_weights(tmp_path / 'resumed', 'iter_6.pth')
    assert any(not torch.equal(resumed[k], v) for k, v in full.items())


def test_the_hook_wraps_the_iteration_loop_only(tmp_path):
    runner = _train(tmp_path / 'iter', [StepSeedHook()], max_iters=1)
    assert type(runner.train_loop.dataloader_iterator).__name__ == '_ReseedingIterator'
    runner = _train(tmp_path / 'epoch', [StepSeedHook()], by_epoch=True)
    assert isinstance(runner.train_loop, EpochBasedTrainLoop)


def test_step_seeds_differ_and_repeat():
    seeds = [step_seed(0, i) for i in range(1000)]
    assert len(set(seeds)) == 1000 and seeds == [step_seed(0, i) for i in range(1000)]
    assert step_seed(1, 0) != step_seed(0, 0) and all(0 <= s < 2**32 for s in seeds)
