"""The tiny COCO keypoints dataset is read by mmpose's CocoDataset and scored by its
CocoMetric: the ground truth scores AP 1, a prediction off by a few pixels less."""
import json

import numpy as np
import pytest

from mmfish.tooling.tiny_pose import KEYPOINTS, make_coco_pose


@pytest.fixture(scope='module')
def pose_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny')
    make_coco_pose(root, train_images=6, val_images=4)
    return root / 'coco_pose'


def test_layout_and_skip(pose_root):
    ann = json.loads((pose_root / 'annotations' / 'person_keypoints_val2017.json').read_text())
    assert ann['categories'][0]['keypoints'] == list(KEYPOINTS)
    for a in ann['annotations']:
        assert len(a['keypoints']) == 51 and a['num_keypoints'] == sum(
            1 for v in a['keypoints'][2::3] if v > 0)
    assert all((pose_root / 'val2017' / im['file_name']).is_file() for im in ann['images'])
    again = make_coco_pose(pose_root.parent, train_images=6, val_images=4)
    assert again.skipped


def _predictions(pose_root, shift):
    from mmpose.datasets import CocoDataset
    dataset = CocoDataset(data_root=str(pose_root), data_mode='topdown', test_mode=True,
                          ann_file='annotations/person_keypoints_val2017.json',
                          data_prefix=dict(img='val2017/'), pipeline=[])
    assert len(dataset) > 0
    outputs = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        keypoints = info['keypoints'] + shift
        x1, y1, x2, y2 = info['bbox'][0]
        outputs.append(dict(
            id=info['id'], img_id=info['img_id'], category_id=1,
            pred_instances=dict(keypoints=keypoints, keypoint_scores=np.ones((1, 17))),
            gt_instances=dict(bbox_scales=np.array([[x2 - x1, y2 - y1]]), bbox_scores=np.ones(1),
                              areas=np.array([info['area']]))))
    return dataset, outputs


@pytest.mark.parametrize('shift, best', [(0.0, True), (3.0, False)])
def test_scored_by_mmpose_coco_metric(pose_root, shift, best):
    from mmpose.evaluation import CocoMetric
    dataset, outputs = _predictions(pose_root, shift)
    metric = CocoMetric(ann_file=str(pose_root / 'annotations' /
                                     'person_keypoints_val2017.json'))
    metric.dataset_meta = dataset.metainfo
    metric.process([], [dict(o) for o in outputs])
    ap = metric.compute_metrics(metric.results)['AP']
    assert (ap == pytest.approx(1.0)) if best else (ap < 0.9)
