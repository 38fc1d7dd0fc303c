"""Each pose twin learns, the demo's and one per family: trained through ``mim train`` /
``mim test`` on the tiny COCO keypoints data, its keypoint AP rises above that of the same
model at its initial weights (tested through ``mim test`` too) and above chance (the training
figures' mean pose in each person's box).

Slow (2 to 4 minutes each on 2 quiet cores, training and both tests); both results are printed."""
import math

import pytest

from mmfish_tools.tiny_twins import DEMO_TWINS, TWINS, run_twin, run_untrained

from tests.conftest import REPO

POSE_TWINS = [t for t in (*DEMO_TWINS, *TWINS) if t.toolbox == 'mmpose']


@pytest.mark.slow
@pytest.mark.parametrize('twin', POSE_TWINS, ids=[t.name for t in POSE_TWINS])
def test_trained_pose_twin_beats_untrained_and_chance(twin, workspace, capsys):
    quiet = dict(log=lambda s: None, root=REPO, cwd=str(workspace))
    trained = run_twin(twin, 'work_dirs/pose-learns', **quiet)['metrics']
    untrained = run_untrained(twin, 'work_dirs/pose-learns', **quiet)
    with capsys.disabled():
        print(f'\n{twin.name}: trained {trained}, untrained {untrained}, chance {twin.chance}')
    assert all(math.isfinite(v) for v in (*trained.values(), *untrained.values()))
    assert trained['coco/AP'] > untrained['coco/AP'] + 0.1
    assert trained['coco/AP'] > twin.chance['coco/AP']
