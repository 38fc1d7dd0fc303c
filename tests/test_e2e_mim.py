"""The real user path: ``mim train`` and ``mim test`` of each toolbox on the tiny datasets in
their on-disk formats, with the tiny twins of mmfish configs (a few iterations each here; the
full tiny runs are in docs/downstream.md)."""
import math
from pathlib import Path

import pytest

from mmfish_tools.tiny_twins import DEMO_TWINS, TWINS, demo_twins, run_twin

from .conftest import REPO

FEW_ITERS = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']


#: the demo's twin of each toolbox (the full twins' models at a lighter width: the code the
#: full twins run); the full twins and the other families' pose twins (mmpose's own ResNeSt is
#: not theirs: Res2Net and FishNet are new there) are marked slow
RUNS = ([pytest.param(t, id=t.toolbox, marks=pytest.mark.slow) for t in demo_twins()]
        + [pytest.param(t, id=f'demo-{t.toolbox}') for t in DEMO_TWINS]
        + [pytest.param(t, id=t.name, marks=pytest.mark.slow) for t in TWINS
           if t.toolbox == 'mmpose' and t not in demo_twins()])


@pytest.mark.parametrize('twin', RUNS)
def test_mim_train_and_test(twin, workspace):
    lines = []
    result = run_twin(twin, 'work_dirs', log=lines.append, cfg_options=FEW_ITERS, root=REPO,
                      cwd=str(workspace))
    work_dir = Path(result['work_dir'])
    # what the toolboxes write: config dump, text and json logs, checkpoints
    assert (work_dir / 'iter_2.pth').exists()
    assert Path(result['checkpoint']) == work_dir / 'iter_2.pth'
    assert (work_dir / Path(twin.config).name).exists()
    assert list(work_dir.glob('*/*.log')) and list(work_dir.glob('*/vis_data/scalars.json'))
    assert len(result['losses']) == 2 and all(math.isfinite(x) for x in result['losses'])
    for name in twin.metrics:
        assert result['metrics'][name] is not None and math.isfinite(result['metrics'][name])
    assert any(line.strip().startswith('train [2/2]') for line in lines)  # progress shown


#: the panoptic twin inherits mmdet's config itself: tests/test_e2e_panoptic.py checks its backbone
FULL_CONFIG_TWINS = [t for t in TWINS if "'mmdet::" not in (REPO / t.config).read_text()]


@pytest.mark.parametrize('twin', FULL_CONFIG_TWINS, ids=[t.name for t in FULL_CONFIG_TWINS])
def test_every_tiny_twin_inherits_its_full_config(twin):
    """A twin changes only data, input size, schedule and evaluation: its model is the full
    config's, but for the ImageNet weights (not available here) and the class count."""
    from mmengine.config import Config

    config = Config.fromfile(str(REPO / twin.config))
    bases = Path(REPO / twin.config).read_text().split("'../../", 1)[1].split("'", 1)[0]
    full = Config.fromfile(str(REPO / 'configs' / bases))
    ours, theirs = config.model.backbone.to_dict(), full.model.backbone.to_dict()
    # trained from scratch: no ImageNet weights, and so nothing frozen
    assert 'Pretrained' not in str(ours.pop('init_cfg', None))
    theirs.pop('init_cfg', None)
    for key, scratch in (('frozen_stages', -1), ('norm_eval', False)):
        assert ours.pop(key, scratch) == scratch
        theirs.pop(key, None)
    assert ours == theirs
    assert config.model.type == full.model.type
    assert config.train_cfg.type == 'IterBasedTrainLoop' and config.train_cfg.max_iters <= 200
    # what differs from the full config is only what the tiny piece's `tiny_overrides` names
    changed = {key for key, value in config.items()
               if not key.startswith('tiny_') and full.get(key) != value}
    assert changed and changed <= set(config.tiny_overrides), changed - set(config.tiny_overrides)
