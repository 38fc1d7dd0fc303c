"""The real user path: ``mim train`` and ``mim test`` of each toolbox on the tiny datasets in
their on-disk formats, with the tiny twins of mmfish configs: the demo twins on ``make demo``'s
own schedule (trained once per session by the ``demo_runs`` fixture, which the inference tests
share), the full twins for a few iterations (the full tiny runs are in docs/downstream.md)."""
import math
from pathlib import Path

import pytest

from mmfish_tools.tiny_twins import DEMO_TWINS, TWINS, demo_twins, run_twin

from tests.conftest import REPO

FEW_ITERS = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']


#: the full twins and the other families' pose twins (mmpose's own ResNeSt is not theirs:
#: Res2Net and FishNet are new there), a few iterations each, marked slow
RUNS = ([pytest.param(t, id=t.toolbox, marks=pytest.mark.slow) for t in demo_twins()]
        + [pytest.param(t, id=t.name, marks=pytest.mark.slow) for t in TWINS
           if t.toolbox == 'mmpose' and t not in demo_twins()])


def check_run(twin, result: dict, lines: list, iters: int, interval: int) -> None:
    """What ``mim train`` and ``mim test`` of ``twin`` leave after ``iters`` iterations, the
    loss logged every ``interval`` (and by MMEngine at the end of the data's first pass):
    config dump, text and json logs, the last checkpoint, finite losses and test metrics, and
    the progress shown."""
    work_dir = Path(result['work_dir'])
    assert (work_dir / f'iter_{iters}.pth').exists()
    assert Path(result['checkpoint']) == work_dir / f'iter_{iters}.pth'
    assert (work_dir / Path(twin.config).name).exists()
    assert list(work_dir.glob('*/*.log')) and list(work_dir.glob('*/vis_data/scalars.json'))
    assert len(result['losses']) == len(result['loss_iters'])
    assert all(math.isfinite(x) for x in result['losses'])
    assert set(range(interval, iters + 1, interval)) <= set(result['loss_iters'])
    assert result['iters'] == result['loss_iters'][-1] == iters
    for name in twin.metrics:
        assert result['metrics'][name] is not None and math.isfinite(result['metrics'][name])
    assert any(line.strip().startswith(f'train [{iters}/{iters}]') for line in lines)


@pytest.mark.parametrize('twin', RUNS)
def test_mim_train_and_test(twin, workspace):
    lines = []
    result = run_twin(twin, 'work_dirs', log=lines.append, cfg_options=FEW_ITERS, root=REPO,
                      cwd=str(workspace))
    check_run(twin, result, lines, iters=2, interval=1)


@pytest.mark.parametrize('twin', DEMO_TWINS, ids=[f'demo-{t.toolbox}' for t in DEMO_TWINS])
def test_demo_twin_mim_train_and_test(twin, demo_runs):
    """The demo twin of each toolbox (the full twins' models at a lighter width: the code the
    full twins run) on the demo's whole schedule, as ``make demo`` trains it."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO / twin.config))
    iters, interval = cfg.train_cfg.max_iters, cfg.default_hooks.logger.interval
    result = demo_runs['results'][twin.toolbox]
    check_run(twin, result, result['lines'], iters=iters, interval=interval)


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


@pytest.mark.parametrize('twin', FULL_CONFIG_TWINS, ids=[t.name for t in FULL_CONFIG_TWINS])
def test_every_tiny_twin_preprocesses_as_its_full_config(twin):
    """The model the Runner builds from a twin normalises and orders channels as its full
    config's does (a data_preprocessor inside a twin's ``model`` would replace the inherited
    top-level one, not merge with it)."""
    from mmengine.config import Config

    from mmfish.deploy.build import model_config

    config = Config.fromfile(str(REPO / twin.config))
    bases = Path(REPO / twin.config).read_text().split("'../../", 1)[1].split("'", 1)[0]
    full = Config.fromfile(str(REPO / 'configs' / bases))
    ours = dict(model_config(config).get('data_preprocessor') or {})
    theirs = dict(model_config(full).get('data_preprocessor') or {})
    for key in ('num_classes', 'size', 'pad_size_divisor', 'batch_augments'):
        ours.pop(key, None), theirs.pop(key, None)
    assert ours == theirs
