"""Random numbers that do not depend on where a run was interrupted.

MMEngine seeds Python's, NumPy's and torch's global generators once, when the runner starts,
and does not store their states in checkpoints. Everything random in training draws from them:
the data pipeline (random crops, flips, resizes), batch augmentations (mmpretrain's Mixup),
RoI sampling in mmdet, dropout. A run resumed from ``iter_N.pth`` starts from the seed again
(``IterBasedTrainLoop`` then replays the data pipeline for the first N batches to advance the
data order, which does not replay the other draws), so from iteration N on it draws different
random numbers than the uninterrupted run: same schedule, different weights.

:class:`StepSeedHook` reseeds the three global generators before each training batch is
loaded, from the run's seed and the number of the batch (and, for epoch-based loops, before
each epoch, from the epoch). The random numbers of an iteration then depend only on the seed
and the iteration, so a run resumed at any checkpoint continues exactly as the uninterrupted run
would have. With ``randomness=dict(seed=..., deterministic=True)`` and the same hardware and
thread count, the resumed run ends with bit-identical weights (``tests/test_resume_kill.py``).

Dataloader worker processes (``num_workers > 0``) have their own generators, seeded when the
workers start, and are not reseeded per batch; after a resume, ``IterBasedTrainLoop``'s replay
of the first N batches goes through them as in the uninterrupted run, but only runs with
``num_workers=0`` (the tiny twins) have been checked to resume bit-identically.
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from ..registry import HOOKS

_ITER, _EPOCH = 0, 1  # separate seed streams for per-batch and per-epoch reseeding


def step_seed(seed: int, step: int, stream: int = _ITER) -> int:
    """A 32-bit seed for ``step`` of a run seeded with ``seed``, well mixed
    (``numpy.random.SeedSequence``) so that neighbouring steps get unrelated streams."""
    entropy = [int(seed) & 0xFFFFFFFF, stream, int(step)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def reseed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch's (CPU and all GPUs)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _ReseedingIterator:
    """Wraps a training loop's data iterator: reseeds before fetching each batch."""

    def __init__(self, iterator, seed: int):
        self._iterator, self._seed, self.step = iterator, seed, 0

    def __iter__(self):
        return self

    def __next__(self):
        reseed(step_seed(self._seed, self.step))
        self.step += 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class StepSeedHook(Hook):
    """Reseed the global random generators per training batch (iteration-based loops) or per
    epoch (epoch-based loops) from the runner's seed, so that resuming is exact.

    ``custom_hooks = [dict(type='mmfish.StepSeedHook')]``; it uses ``runner.seed``, that is
    ``randomness.seed`` (or the seed MMEngine drew and stored in the checkpoint), made
    different per rank by ``randomness.diff_rank_seed`` as MMEngine does.
    """
    priority = 'VERY_HIGH'

    def __init__(self):
        self._per_batch = False

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        iterator = getattr(loop, 'dataloader_iterator', None)  # IterBasedTrainLoop
        self._per_batch = iterator is not None
        if self._per_batch and not isinstance(iterator, _ReseedingIterator):
            loop.dataloader_iterator = _ReseedingIterator(iterator, runner.seed)

    def before_train_epoch(self, runner) -> None:
        if not self._per_batch:
            reseed(step_seed(runner.seed, runner.epoch, _EPOCH))
