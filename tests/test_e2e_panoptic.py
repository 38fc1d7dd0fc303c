"""Panoptic segmentation as a user runs it: ``mim train mmdet`` and ``mim test mmdet`` of the
Panoptic FPN tiny twin on the tiny COCO panoptic dataset, scored by mmdet's
CocoPanopticMetric (PQ). A few iterations here; the full run, marked slow, checks that PQ rises
well above the untrained model and the chance level (docs/downstream.md)."""
import math
from pathlib import Path

import pytest

from mmfish_tools.mim_runs import train_history
from mmfish_tools.tiny_twins import run_twin, run_untrained, twin_by_name

from tests.conftest import REPO

PANOPTIC = twin_by_name('panoptic-fpn_resnest50_fpn_1xb4-100i_tiny-coco-panoptic')
FEW_ITERS = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']


def test_twin_is_mmdets_panoptic_fpn_with_mmfishs_resnest50():
    """The twin's model is mmdet's Panoptic FPN with configs/mmdet/_base_/resnest50.py's
    backbone, from scratch (no ImageNet weights, nothing frozen), and 3 + 3 classes."""
    from mmengine.config import Config
    from mmengine.hub import get_config

    config = Config.fromfile(str(REPO / PANOPTIC.config))
    full = get_config('mmdet::panoptic_fpn/panoptic-fpn_r50_fpn_1x_coco.py')
    piece = Config.fromfile(str(REPO / 'configs' / 'mmdet' / '_base_' / 'resnest50.py'))
    ours, theirs = config.model.backbone.to_dict(), piece.backbone.to_dict()
    theirs.pop('_delete_')
    assert 'Pretrained' not in str(ours.pop('init_cfg')) and theirs.pop('init_cfg')
    for key, scratch in (('frozen_stages', -1), ('norm_eval', False)):
        assert ours.pop(key) == scratch
        theirs.pop(key)
    assert ours == theirs
    assert config.model.type == full.model.type == 'PanopticFPN'
    for part in ('data_preprocessor', 'neck', 'rpn_head'):
        assert config.model[part] == full.model[part]
    assert config.model.semantic_head.num_things_classes == 3
    assert config.model.semantic_head.num_stuff_classes == 3
    assert config.model.roi_head.mask_head.num_classes == 3
    assert config.train_cfg.type == 'IterBasedTrainLoop' and config.train_cfg.max_iters <= 200
    assert config.val_evaluator.type == 'CocoPanopticMetric'


def test_mim_train_and_test_report_pq(workspace):
    lines = []
    result = run_twin(PANOPTIC, 'work_dirs', log=lines.append, cfg_options=FEW_ITERS,
                      root=REPO, cwd=str(workspace))
    work_dir = Path(result['work_dir'])
    assert (work_dir / 'iter_2.pth').exists()
    assert Path(result['checkpoint']) == work_dir / 'iter_2.pth'
    assert (work_dir / Path(PANOPTIC.config).name).exists()
    assert len(result['losses']) == 2 and all(math.isfinite(x) for x in result['losses'])
    for name in PANOPTIC.metrics:
        value = result['metrics'][name]
        assert value is not None and math.isfinite(value) and 0 <= value <= 100
    assert any(line.strip().startswith('train [2/2]') for line in lines)


@pytest.mark.slow
def test_pq_rises_over_training(workspace):
    """The whole schedule: PQ rises from the untrained model's through the mid-run validation
    to the end, far above the untrained model and the chance level (one run on the 2-core
    machine: untrained 1.79, 16.28 after 50 iterations, 28.07 after 100)."""
    kwargs = dict(log=lambda s: None, root=REPO, cwd=str(workspace))
    untrained = run_untrained(PANOPTIC, 'work_dirs_full', **kwargs)
    result = run_twin(PANOPTIC, 'work_dirs_full', **kwargs)
    validations = [h['coco_panoptic/PQ'] for h in train_history(result['work_dir'])
                   if 'coco_panoptic/PQ' in h]
    pq = result['metrics']['coco_panoptic/PQ']
    assert len(validations) == 2 and validations[-1] == pytest.approx(pq)
    assert untrained['coco_panoptic/PQ'] < validations[0] < validations[1]
    assert pq > untrained['coco_panoptic/PQ'] + 15
    assert pq > PANOPTIC.chance['coco_panoptic/PQ'] + 15
    assert result['metrics']['coco_panoptic/PQ_st'] > PANOPTIC.chance['coco_panoptic/PQ_st'] + 15
