"""A tiny COCO keypoints dataset in the real on-disk layout, read by mmpose's ``CocoDataset``
(``data_mode='topdown'``) and scored by its ``CocoMetric`` (xtcocotools' OKS evaluation):

    <root>/coco_pose/{train2017,val2017}/<id>.jpg
    <root>/coco_pose/annotations/person_keypoints_{train,val}2017.json
    <root>/coco_pose/.mmfish-tiny.json      (marker: parameters and counts)

Each image shows one or two stick figures: COCO's 17 keypoints of a standing person (a fixed
template, scaled, shifted, tilted, with every joint jittered), limbs drawn as grey lines and each
joint as a disc whose colour is that joint's, on a noisy, shaded background. Some joints are
hidden (not drawn, visibility 1) and some not labelled (visibility 0), as in COCO. The person
box is the labelled joints' extent with a margin; ``num_keypoints`` counts the labelled joints.
"""
import json
import time
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageDraw

from .tiny_data import TinyDataset

PathLike = Union[str, Path]
MARKER = '.mmfish-tiny.json'
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
DEFAULTS = dict(image_size=96, train_images=48, val_images=16, seed=0)


def _joint_colours() -> np.ndarray:
    hues = np.arange(len(KEYPOINTS)) / len(KEYPOINTS)
    out = []
    for h in hues:  # full saturation and value: distinct, bright hues
        i, f = int(h * 6) % 6, h * 6 - int(h * 6)
        q, t = 1 - f, f
        out.append([(1, t, 0), (q, 1, 0), (0, 1, t), (0, q, 1), (t, 0, 1), (1, 0, q)][i])
    return (np.array(out) * 255).astype(np.uint8)


def _person(rng: np.random.Generator, size: int):
    """Keypoints (17, 2) in pixels and visibilities (17, ) of one random figure."""
    height = rng.uniform(0.45, 0.8) * size
    angle = rng.uniform(-0.25, 0.25)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = (TEMPLATE - [0, 0.5]) @ rot.T * height
    points += rng.normal(0, 0.025 * height, points.shape)  # each joint moves a little
    half = np.abs(points).max(0) + 2
    centre = rng.uniform(half, size - half)
    points += centre
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


def make_coco_pose(root: PathLike = 'data/tiny', seed: int = 0, force: bool = False,
                   **params) -> TinyDataset:
    """Write the dataset under ``<root>/coco_pose`` (skipped when complete with the same
    parameters, unless ``force``); the caller prints :meth:`TinyDataset.summary`."""
    start = time.perf_counter()
    params = dict(DEFAULTS, **params, seed=seed)
    path = Path(root) / NAME
    marker = path / MARKER
    if marker.is_file() and not force:
        stored = json.loads(marker.read_text())
        if stored.get('params') == params:
            return TinyDataset(NAME, path, params, stored['counts'], True,
                               time.perf_counter() - start)
    rng = np.random.default_rng(seed)
    colours = _joint_colours()
    size = params['image_size']
    (path / 'annotations').mkdir(parents=True, exist_ok=True)
    counts, ann_id = {}, 1
    for split, n in (('train', params['train_images']), ('val', params['val_images'])):
        folder = path / f'{split}2017'
        folder.mkdir(exist_ok=True)
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
        (path / 'annotations' / f'person_keypoints_{split}2017.json').write_text(
            json.dumps(coco))
        counts[split] = dict(images=len(images), objects=len(annotations),
                             per_class=[len(annotations)])
    marker.write_text(json.dumps(dict(params=params, counts=counts)))
    return TinyDataset(NAME, path, params, counts, False, time.perf_counter() - start)
