"""The segmentation demo twin notices a broken backbone: trained through ``mim train`` /
``mim test`` on the tiny segmentation dataset (the background scored, the classes told apart
by form only, not by colour), it scores clearly above chance and above the same model whose
backbone keeps its random initial weights (only the heads learn).

Slow (two runs of the demo's segmentation twin, 300 iterations each: minutes); both
results are printed (``pytest -s``)."""
import math
from pathlib import Path

import pytest

from mmfish_tools.tiny_twins import DEMO_TWINS, TinyTwin, run_twin

from tests.conftest import REPO

#: the same schedule for both runs, with no floor under the learning rate, so that a learning
#: rate multiplier of 0 leaves the backbone's weights exactly as initialised
SCHEDULE = ['param_scheduler.0.eta_min=0.0']
FROZEN = '''_base_ = {config!r}
# the backbone keeps its random initial weights (the heads learn as in the twin)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(
    backbone=dict(lr_mult=0.0, decay_mult=0.0))))
'''


@pytest.mark.slow
def test_trained_backbone_beats_random_frozen_one(workspace, tmp_path, capsys):
    import torch
    twin = next(t for t in DEMO_TWINS if t.toolbox == 'mmseg')
    frozen_config = tmp_path / f'{twin.name}_frozen-backbone.py'
    frozen_config.write_text(FROZEN.format(config=str(REPO / twin.config)))
    frozen_twin = TinyTwin(twin.toolbox, str(frozen_config), twin.metrics, twin.chance)
    results = {}
    for name, run in (('trained', twin), ('frozen', frozen_twin)):
        results[name] = run_twin(run, f'work_dirs/discriminates-{name}', log=lambda s: None,
                                 cfg_options=SCHEDULE, root=REPO, cwd=str(workspace))
    with capsys.disabled():
        for name, r in results.items():
            print(f'\n{name} backbone: ' + ', '.join(
                f'{k} {v:.2f} (chance {twin.chance[k]:.1f})' for k, v in r['metrics'].items())
                + f', loss {r["losses"][0]:.3f} -> {r["losses"][-1]:.3f}')
    trained, frozen = (results[k]['metrics'] for k in ('trained', 'frozen'))
    assert all(math.isfinite(v) for v in (*trained.values(), *frozen.values()))
    # the same initial weights (seed 0): the trained backbone moved away from them
    weights = {k: torch.load(Path(r['checkpoint']), map_location='cpu',
                             weights_only=False)['state_dict']
               for k, r in results.items()}
    key = 'backbone.layer4.0.conv1.weight'
    assert not torch.equal(weights['trained'][key], weights['frozen'][key])
    # measured on 2 CPU cores: trained mIoU 31.4, aAcc 86.5; frozen mIoU 22.3, aAcc 83.6
    # (chance 20.9 and 83.8): the frozen backbone stays near chance
    assert frozen['mIoU'] <= twin.chance['mIoU'] + 4
    assert trained['mIoU'] >= twin.chance['mIoU'] + 6
    assert trained['mIoU'] >= frozen['mIoU'] + 6
    assert trained['aAcc'] > frozen['aAcc'] and trained['aAcc'] > twin.chance['aAcc']
