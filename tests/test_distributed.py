"""Distributed training of the tiny twins on 2 CPU processes: MMEngine's ``pytorch`` launcher
under ``torchrun``, ``gloo``, MMDistributedDataParallel, SyncBN (``mmfish.engine.dist_train``),
compared with one process on the same total batch.

Same data in both: the sampler does not shuffle, so rank r takes samples r, r + 2, ... and the
two ranks' first batches of b are together the single process' first batch of 2b; the random
transforms are made identities (full-image crops, no flips) and Mixup and dropout are off,
since each process draws its own random numbers. Then SyncBN computes the single process'
BatchNorm statistics over the whole batch, DDP averages the gradients of the two half-batch
mean losses into the gradient of the whole-batch mean loss, and ``mmfish.RankAverageLogHook``
logs the mean of the ranks' losses, which is the whole-batch loss. What remains is float
rounding in a different order (1 thread per process against 2, sums over two half batches), so
the losses agree to ~1e-7 relative and the weights after a few steps to ~1e-5.
``make test`` runs the classifier's and the detector's; the segmenter's (over a minute) is
marked ``slow`` (``make test-all``).

Detection is looser by construction: mmdet samples anchors and RoIs at random (different
draws per rank) and normalises each loss by the samples of its own rank, so the mean of the
ranks' losses is not the whole-batch loss.
"""
import pytest
import torch

from mmfish_tools.mim_runs import last_checkpoint, run_distributed_train, run_mim, train_history
from mmfish_tools.tiny_twins import twin_by_name

from tests.conftest import REPO

COMMON = ['train_cfg.val_begin=1000', 'default_hooks.logger.interval=1',
          'train_dataloader.sampler.shuffle=False']
CASES = {
    # twin, batch per rank, iterations, options making the data and the model deterministic
    'mmpretrain': ('resnest50_1xb16-200i_tiny-imagenet', 8, 3, [
        'train_dataloader.dataset.pipeline.1.crop_ratio_range=(1.0,1.0)',
        'train_dataloader.dataset.pipeline.1.aspect_ratio_range=(1.0,1.0)',
        'train_dataloader.dataset.pipeline.2.prob=0.0', 'model.train_cfg=None',
        # the classification twin has plain BN: put SyncBN in its backbone
        'model.backbone.norm_cfg.type=SyncBN', 'model.backbone.norm_cfg.requires_grad=True']),
    # the segmentation and detection twins have SyncBN in the backbone and heads already
    'mmseg': ('deeplabv3_resnest50-d8_1xb4-100i_tiny-ade20k', 2, 2, [
        'train_dataloader.dataset.pipeline.2.scale=(64,64)',
        'train_dataloader.dataset.pipeline.2.ratio_range=(1.0,1.0)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        'train_dataloader.dataset.pipeline.4.prob=0.0', 'model.data_preprocessor.size=(64,64)',
        'model.decode_head.dropout_ratio=0.0', 'model.auxiliary_head.dropout_ratio=0.0']),
    'mmdet': ('mask-rcnn_resnest50_fpn_1xb4-150i_tiny-coco', 2, 1, [
        'train_dataloader.dataset.pipeline.3.prob=0.0']),
}


def _train_both(toolbox, workspace):
    name, batch, iters, options = CASES[toolbox]
    config = str(REPO / twin_by_name(name).config)
    common = ['--cfg-options', f'train_cfg.max_iters={iters}', *COMMON, *options]
    quiet = dict(log=lambda s: None, cwd=str(workspace))
    run_mim('train', toolbox, config, f'{toolbox}/single',
            [*common, f'train_dataloader.batch_size={2 * batch}'], **quiet)
    run_distributed_train(toolbox, config, f'{toolbox}/dist', 2,
                          [*common, f'train_dataloader.batch_size={batch}'], **quiet)
    out = {}
    for run in ('single', 'dist'):
        work_dir = str(workspace / toolbox / run)
        out[run] = dict(
            losses=[h['loss'] for h in train_history(work_dir) if 'loss' in h],
            state=torch.load(last_checkpoint(work_dir), map_location='cpu')['state_dict'])
    log = (workspace / toolbox / 'dist' / 'torchrun_train.log').read_text()
    assert 'Distributed training: True' in log and '2 processes, backend gloo' in log
    return out, iters


@pytest.mark.parametrize('toolbox',
                         ['mmpretrain', pytest.param('mmseg', marks=pytest.mark.slow)])
def test_two_processes_train_like_one_with_the_whole_batch(toolbox, workspace):
    runs, iters = _train_both(toolbox, workspace)
    single, dist = runs['single'], runs['dist']
    assert len(single['losses']) == len(dist['losses']) == iters
    torch.testing.assert_close(torch.tensor(dist['losses']), torch.tensor(single['losses']),
                               rtol=1e-5, atol=0)
    # weights and buffers, BatchNorm running statistics included: with per-rank BatchNorm
    # instead of SyncBN they would differ by up to ~20 (running variances) here
    assert dist['state'].keys() == single['state'].keys()
    for key, value in single['state'].items():
        torch.testing.assert_close(dist['state'][key], value, rtol=1e-3, atol=1e-4,
                                   msg=lambda m, key=key: f'{key}: {m}')


def test_detection_trains_distributed_and_its_loss_is_close(workspace):
    runs, iters = _train_both('mmdet', workspace)
    single, dist = runs['single']['losses'], runs['dist']['losses']
    assert len(single) == len(dist) == iters
    torch.testing.assert_close(torch.tensor(dist), torch.tensor(single), rtol=1e-2, atol=0)
