"""A tiny COCO keypoints dataset in the real on-disk layout, read by mmpose's ``CocoDataset``
(``data_mode='topdown'``) and scored by its ``CocoMetric`` (xtcocotools' OKS evaluation):

    <root>/coco_pose/{train2017,val2017}/<id>.jpg
    <root>/coco_pose/annotations/person_keypoints_{train,val}2017.json
    <root>/coco_pose/.complete              (marker: parameters and counts)

Each image shows one or two stick figures: COCO's 17 keypoints of a person (a template whose
arms and legs are bent at random at the shoulder or hip and at the elbow or knee, then tilted,
scaled, shifted, with every joint jittered), limbs drawn as grey lines and each joint as a disc
whose colour is that joint's, on a noisy, shaded background. The poses vary enough that the
training figures' mean pose, placed in each person's box, scores far below a model that finds
the joints (:func:`mean_pose_scores`: the pose twins' chance level). Some joints are
hidden (not drawn, visibility 1) and some not labelled (visibility 0), as in COCO. The person
box is the labelled joints' extent with a margin; ``num_keypoints`` counts the labelled joints.
"""
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .tiny_data import MARKER, Log, PathLike, TinyDataset, _generate, _params

NAME = 'coco_pose'
KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
             'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
             'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
#: COCO's skeleton (1-based keypoint indices, as in person_keypoints_*.json)
SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7],
            [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6],
            [5, 7]]
#: a standing person seen from the front, in a box of height 1 centred on x = 0 (y down);
#: the person's left is the image's right
TEMPLATE = np.array([
    [0.00, 0.06], [0.03, 0.03], [-0.03, 0.03], [0.07, 0.05], [-0.07, 0.05],
    [0.13, 0.20], [-0.13, 0.20], [0.19, 0.36], [-0.19, 0.36], [0.22, 0.50], [-0.22, 0.50],
    [0.09, 0.52], [-0.09, 0.52], [0.10, 0.75], [-0.10, 0.75], [0.11, 0.97], [-0.11, 0.97]])
_OLD_MARKER = '.mmfish-tiny.json'  # the marker of versions before FORMAT_VERSION 2
#: bumped whenever the generator's output changes, so that old datasets are regenerated
FORMAT_VERSION = 2


def _joint_colours() -> np.ndarray:
    hues = np.arange(len(KEYPOINTS)) / len(KEYPOINTS)
    out = []
    for h in hues:  # full saturation and value: distinct, bright hues
        i, f = int(h * 6) % 6, h * 6 - int(h * 6)
        q, t = 1 - f, f
        out.append([(1, t, 0), (q, 1, 0), (0, 1, t), (0, q, 1), (t, 0, 1), (1, 0, q)][i])
    return (np.array(out) * 255).astype(np.uint8)


#: the limbs as (joint, middle joint, end joint) and the ranges (radians) by which a figure
#: bends each at its first and middle joint: arms swing widely, legs less
LIMBS = (((5, 7, 9), 1.5, 1.2), ((6, 8, 10), 1.5, 1.2),
         ((11, 13, 15), 0.5, 0.6), ((12, 14, 16), 0.5, 0.6))


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def _person(rng: np.random.Generator, size: int):
    """Keypoints (17, 2) in pixels and visibilities (17, ) of one random figure: the template
    with each limb bent at random, tilted, scaled and placed at random, every joint jittered
    (so that where the joints are in a person's box varies from person to person)."""
    points = TEMPLATE - [0, 0.5]
    for (root, middle, end), first, second in LIMBS:
        a = rng.uniform(-first, first)
        b = a + rng.uniform(-second, second)
        upper = (TEMPLATE[middle] - TEMPLATE[root]) @ _rotation(a).T
        lower = (TEMPLATE[end] - TEMPLATE[middle]) @ _rotation(b).T
        points[middle] = points[root] + upper
        points[end] = points[middle] + lower
    points = points @ _rotation(rng.uniform(-0.6, 0.6)).T
    points = points - (points.max(0) + points.min(0)) / 2
    # scaled so that the figure's longer side is 45-85% of the image
    points *= rng.uniform(0.45, 0.85) * size / np.ptp(points, axis=0).max()
    points += rng.normal(0, 0.02 * np.ptp(points, axis=0).max(), points.shape)
    half = np.abs(points).max(0) + 2
    points += rng.uniform(half, size - half)
    visibility = np.full(len(KEYPOINTS), 2)
    r = rng.random(len(KEYPOINTS))
    visibility[r < 0.1] = 1  # hidden: labelled, not drawn
    visibility[r < 0.04] = 0  # not labelled
    return points, visibility


def _draw(rng, size: int, people, colours) -> Image.Image:
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = rng.uniform(60, 160, 3)
    slope = rng.uniform(-40, 40, (2, 3))
    image = base + xx[..., None] * slope[0] + yy[..., None] * slope[1]
    image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    radius = max(size // 40, 1)
    for points, visibility in people:
        for a, b in SKELETON:
            if visibility[a - 1] == 2 and visibility[b - 1] == 2:
                draw.line([tuple(points[a - 1]), tuple(points[b - 1])], fill=(200, 200, 200),
                          width=max(size // 48, 1))
        for k, (x, y) in enumerate(points):
            if visibility[k] == 2:
                draw.ellipse([x - radius, y - radius, x + radius, y + radius],
                             fill=tuple(int(c) for c in colours[k]))
    return canvas


def _annotation(points, visibility, image_id: int, ann_id: int, size: int) -> dict:
    labelled = visibility > 0
    lo = points[labelled].min(0) - 4
    hi = points[labelled].max(0) + 4
    lo, hi = np.clip(lo, 0, size - 1), np.clip(hi, 0, size - 1)
    box = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
    keypoints = []
    for (x, y), v in zip(points, visibility):
        keypoints += [round(float(x), 2), round(float(y), 2), int(v)] if v else [0, 0, 0]
    return dict(id=ann_id, image_id=image_id, category_id=1, iscrowd=0, bbox=box,
                area=box[2] * box[3], num_keypoints=int(labelled.sum()), keypoints=keypoints)


def _write(out: Path, params: dict) -> dict:
    """Write the dataset's files into ``out``; return its counts per split."""
    rng = np.random.default_rng(params['seed'])
    colours = _joint_colours()
    size = params['image_size']
    (out / 'annotations').mkdir(parents=True)
    counts, ann_id = {}, 1
    for split, n in (('train', params['num_train']), ('val', params['num_val'])):
        folder = out / f'{split}2017'
        folder.mkdir()
        images, annotations = [], []
        for i in range(n):
            image_id = (1 if split == 'train' else 100001) + i
            people = [_person(rng, size) for _ in range(1 + int(rng.random() < 0.3))]
            name = f'{image_id:012d}.jpg'
            _draw(rng, size, people, colours).save(folder / name, quality=95)
            images.append(dict(id=image_id, file_name=name, height=size, width=size))
            for points, visibility in people:
                annotations.append(_annotation(points, visibility, image_id, ann_id, size))
                ann_id += 1
        coco = dict(images=images, annotations=annotations, categories=[dict(
            id=1, name='person', supercategory='person', keypoints=list(KEYPOINTS),
            skeleton=SKELETON)])
        (out / 'annotations' / f'person_keypoints_{split}2017.json').write_text(
            json.dumps(coco))
        counts[split] = dict(images=len(images), objects=len(annotations),
                             per_class=[len(annotations)])
    return counts


def make_coco_pose(root: PathLike = 'data/tiny', num_train: int = 48, num_val: int = 16,
                   image_size: int = 96, seed: int = 0, force: bool = False,
                   log: Log = None) -> TinyDataset:
    """Write ``<root>/coco_pose``: COCO person keypoints (mmpose's ``CocoDataset``) of
    ``num_train`` / ``num_val`` square images of ``image_size`` px with one or two figures
    each; like the other tiny datasets, written into a staging folder that replaces the old
    one only when complete, and skipped when complete with the same parameters.

    ``log`` (e.g. ``print``) receives progress lines; ``force`` regenerates a complete dataset.
    """
    params = _params(NAME, num_train, num_val, image_size, seed, FORMAT_VERSION)
    what = (f'{num_train} train + {num_val} val images of {image_size}x{image_size}, '
            'one or two figures of 17 keypoints each')
    old = Path(root) / NAME
    if (old / _OLD_MARKER).is_file() and not (old / MARKER).exists():
        shutil.rmtree(old)  # written by an earlier version of this module: regenerated
    return _generate(root, params, _write, what, force, log)


def score_keypoints(root: PathLike, predict, split: str = 'val') -> dict:
    """Score a prediction of every person of ``split`` of ``<root>/coco_pose`` with mmpose's
    ``CocoMetric`` (OKS AP and AR, as ``mim test`` reports them without the ``coco/``
    prefix). ``predict(info)`` gets mmpose's ``CocoDataset`` record of one person (its
    ``bbox``, ``keypoints``, ...) and returns its (1, 17, 2) keypoints."""
    from mmpose.datasets import CocoDataset
    from mmpose.evaluation import CocoMetric
    path = Path(root) / NAME
    ann_file = f'annotations/person_keypoints_{split}2017.json'
    dataset = CocoDataset(data_root=str(path), data_mode='topdown', test_mode=True,
                          ann_file=ann_file, data_prefix=dict(img=f'{split}2017/'),
                          pipeline=[])
    metric = CocoMetric(ann_file=str(path / ann_file))
    metric.dataset_meta = dataset.metainfo
    outputs = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        x1, y1, x2, y2 = info['bbox'][0]
        outputs.append(dict(
            id=info['id'], img_id=info['img_id'], category_id=1,
            pred_instances=dict(keypoints=np.asarray(predict(info), dtype=np.float32),
                                keypoint_scores=np.ones((1, len(KEYPOINTS)))),
            gt_instances=dict(bbox_scales=np.array([[x2 - x1, y2 - y1]]),
                              bbox_scores=np.ones(1), areas=np.array([info['area']]))))
    metric.process([], outputs)
    return metric.compute_metrics(metric.results)


def mean_pose_scores(root: PathLike = 'data/tiny') -> dict:
    """What the pose twins' metrics are at chance level: AP and AR (``coco/AP``,
    ``coco/AR``) of predicting, in each val person's ground-truth box, the training figures'
    mean pose relative to their boxes (a model that learnt where joints are on average but
    looks at no image)."""
    path = Path(root) / NAME
    train = json.loads((path / 'annotations' / 'person_keypoints_train2017.json').read_text())
    total, count = np.zeros((len(KEYPOINTS), 2)), np.zeros((len(KEYPOINTS), 1))
    for ann in train['annotations']:
        x, y, w, h = ann['bbox']
        points = np.array(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        labelled = points[:, 2:] > 0
        total += np.where(labelled, (points[:, :2] - [x, y]) / [w, h], 0)
        count += labelled
    mean = total / np.maximum(count, 1)

    def predict(info):
        x1, y1, x2, y2 = info['bbox'][0]
        return ([x1, y1] + mean * [x2 - x1, y2 - y1])[None]

    scores = score_keypoints(root, predict)
    return {'coco/AP': float(scores['AP']), 'coco/AR': float(scores['AR'])}
