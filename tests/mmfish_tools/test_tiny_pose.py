"""The tiny COCO keypoints dataset is read by mmpose's CocoDataset and scored by its
CocoMetric: the ground truth scores AP 1, a prediction off by a few pixels less."""
import json

import pytest

from mmfish_tools.tiny_pose import KEYPOINTS, make_coco_pose, mean_pose_scores, score_keypoints
from mmfish_tools.tiny_twins import DEMO_TWINS, TWINS


@pytest.fixture(scope='module')
def pose_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny')
    make_coco_pose(root, num_train=6, num_val=4)
    return root / 'coco_pose'


def test_layout_and_skip(pose_root):
    ann = json.loads((pose_root / 'annotations' / 'person_keypoints_val2017.json').read_text())
    assert ann['categories'][0]['keypoints'] == list(KEYPOINTS)
    for a in ann['annotations']:
        assert len(a['keypoints']) == 51 and a['num_keypoints'] == sum(
            1 for v in a['keypoints'][2::3] if v > 0)
    assert all((pose_root / 'val2017' / im['file_name']).is_file() for im in ann['images'])
    again = make_coco_pose(pose_root.parent, num_train=6, num_val=4)
    assert again.skipped


@pytest.mark.parametrize('shift, best', [(0.0, True), (3.0, False)])
def test_scored_by_mmpose_coco_metric(pose_root, shift, best):
    ap = score_keypoints(pose_root.parent, lambda info: info['keypoints'] + shift)['AP']
    assert (ap == pytest.approx(1.0)) if best else (ap < 0.9)


def test_pose_twins_chance_level(tmp_path):
    """The chance level the pose twins state is the mean pose's score on the default data."""
    make_coco_pose(tmp_path)
    chance = mean_pose_scores(tmp_path)
    assert 0 < chance['coco/AP'] < 0.5  # far from a perfect prediction
    for twin in (t for t in (*TWINS, *DEMO_TWINS) if t.toolbox == 'mmpose'):
        assert set(twin.metrics) == set(chance)
        for name in twin.metrics:
            assert twin.chance[name] == pytest.approx(chance[name], abs=5e-4)
