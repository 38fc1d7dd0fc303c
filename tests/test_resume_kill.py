"""Interruption: a tiny twin's ``mim train`` SIGKILLed midway and restarted with ``--resume``
ends with exactly the weights, buffers and optimizer state of an uninterrupted run with the
same seed, for each toolbox.

What makes it exact (all in the tiny twins' configs): ``randomness=dict(seed=0,
deterministic=True)``; ``mmfish.StepSeedHook``, which reseeds the global generators per
iteration (MMEngine stores no generator state in checkpoints, so a resumed run would otherwise
draw other crops, flips, Mixup coefficients and RoI samples); ``mmfish.AtomicCheckpointHook``,
so that the kill can never leave ``last_checkpoint`` naming a truncated or deleted file. Both
runs use the same threads on the same CPU, so the kernels add in the same order.

Each run is 4 iterations with a checkpoint every 2 (the twins keep one), no validation; the
interrupted run is killed, process group and all, as soon as ``iter_2.pth`` is saved, so it
dies during iteration 3 (or while saving ``iter_4.pth``). Smaller batches (and 64x64 crops for
segmentation) keep the file at a few minutes on 2 cores. ``make test`` runs the classifier's;
the other toolboxes' take a minute or more each and are marked ``slow`` (``make test-all``).
"""
import pytest

from mmfish_tools.resume_check import check_resume
from mmfish_tools.tiny_twins import demo_twins

from tests.conftest import REPO

SCHEDULE = ['train_cfg.max_iters=4', 'train_cfg.val_begin=1000',
            'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']
SMALLER = {
    'mmpretrain': ['train_dataloader.batch_size=8'],
    'mmdet': ['train_dataloader.batch_size=2'],
    'mmseg': ['train_dataloader.batch_size=2', 'train_dataloader.dataset.pipeline.2.scale=(64,64)',
              'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
              'model.data_preprocessor.size=(64,64)'],
    'mmpose': ['train_dataloader.batch_size=4'],
}
TWINS = [pytest.param(t, id=t.toolbox,
                      marks=() if t.toolbox == 'mmpretrain' else pytest.mark.slow)
         for t in demo_twins()]


@pytest.mark.parametrize('twin', TWINS)
def test_killed_and_resumed_run_ends_like_the_uninterrupted_one(twin, workspace):
    lines = []
    result = check_resume(twin.toolbox, str(REPO / twin.config), f'work_dirs/{twin.toolbox}',
                          kill_at=2, args=['--cfg-options', *SCHEDULE, *SMALLER[twin.toolbox]],
                          log=lines.append, cwd=str(workspace))
    # killed after saving iteration 2, before the end; resumed at iteration 3
    assert result['killed_after'] == 2
    assert sorted(result['losses']) == [1, 2, 3, 4]
    assert sorted(result['resumed_losses']) == [3, 4]
    assert result['iters'] == (4, 4)
    # bit-identical: every weight and buffer, every optimizer state tensor, the losses
    assert result['state_dict']['exact'], result['state_dict']
    assert result['optimizer']['exact'] and result['optimizer']['tensors'] > 0
    assert result['resumed_losses'] == {i: result['losses'][i] for i in (3, 4)}
