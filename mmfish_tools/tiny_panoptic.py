"""A tiny COCO panoptic dataset in the real on-disk layout, read by mmdet's
``CocoPanopticDataset`` (``LoadPanopticAnnotations``) and scored by its ``CocoPanopticMetric``
(PQ, SQ, RQ over all classes, things and stuff)::

    <root>/coco_panoptic/{train2017,val2017}/000000000001.jpg ...
    <root>/coco_panoptic/annotations/panoptic_{train,val}2017.json
    <root>/coco_panoptic/annotations/panoptic_{train,val}2017/000000000001.png ...
    <root>/coco_panoptic/.complete               (marker: parameters and counts)

Content. The background of every image is stuff: one region, or (three times in four) two
regions of different stuff classes on either side of a wavy line. A stuff class is a kind of
texture, its colours drawn whatever the class: ``smooth`` (a gradient between two colours),
``waves`` (soft stripes, a period of 11-19 % of the image) or ``checks`` (a rotated
checkerboard, cells of 7-11 %). On it stand 1-3 things, the shapes of the tiny ADE20K dataset
(:mod:`.tiny_data`): ``circle``, ``square`` and ``triangle``, 25-45 % of the image wide, filled
with finely striped textures whose colour does not depend on the class, so that finding a thing
takes its texture and naming it takes its outline. Shapes are at least 2 px apart; every pixel
belongs to exactly one segment (no void).

Format, as COCO's panoptic annotations (panoptic_{train,val}2017.json):

- ``categories``: ``id``, ``name``, ``supercategory``, ``isthing`` (1 for the things, 0 for the
  stuff) and ``color``; the things have ids 1-3 and the stuff, as in COCO, ids after a gap
  (101-103). mmdet's labels are the things (0-2) then the stuff (3-5): :func:`panoptic_metainfo`.
- ``images``: ``id``, ``file_name`` (``<id:012d>.jpg``), ``width``, ``height``.
- ``annotations``: one per image: ``image_id``, ``file_name`` (the PNG's name) and
  ``segments_info``, one entry per segment: ``id``, ``category_id``, ``area`` (its pixels),
  ``bbox`` (``[x, y, w, h]`` of its pixels, pixel ``(row, col)`` covering
  ``[col, col + 1) x [row, row + 1)``) and ``iscrowd`` (0).
- the PNGs: RGB, a pixel of segment ``id`` has the colour ``(id % 256, id // 256 % 256,
  id // 256 ** 2)`` (:func:`id2rgb`, :func:`rgb2id`); segment ids are random, unique in their
  image, in ``1 .. 256 ** 3 - 1`` (0 is void).

What to expect. A prediction of nothing scores PQ 0; a prediction that looks at no image, the
stuff class with the most training pixels over the whole image, scores what
:func:`constant_stuff_scores` computes: on the default data PQ 1.34 (PQ_st 2.68, PQ_th 0), as a
stuff segment is matched only where it covers more than half the image. The untrained Panoptic
FPN tiny twin scored PQ 1.79 on it; a perfect prediction scores 100.

Everything is drawn from a :class:`numpy.random.Generator` seeded by ``(seed, split)``: the same
arguments give byte-identical files. The directory is written like the other tiny datasets
(:func:`.tiny_data._generate`): complete or not at all, skipped when complete with the same
parameters.
"""
import json
from pathlib import Path
from typing import Callable, List, Tuple

import cv2
import numpy as np
from PIL import Image

from .tiny_data import (
    _SCENE_GAP,
    _SCENE_MAX_IOU,
    _SCENE_TRIES,
    _SEG_NOISE,
    SHAPES,
    Log,
    PathLike,
    TinyDataset,
    _any_colour,
    _box_iou,
    _ClassBag,
    _finish,
    _generate,
    _paint_textured,
    _params,
    _place,
    _save_jpeg,
    _save_json,
    _Shape,
)

NAME = 'coco_panoptic'
#: the thing classes (shapes), labels 0-2, category ids 1-3
THINGS = SHAPES[:3]
#: the stuff classes (background textures), labels 3-5, category ids 101-103
STUFF = ('smooth', 'waves', 'checks')
STUFF_FIRST_ID = 101
#: bumped whenever the generator's output changes, so that old datasets are regenerated
FORMAT_VERSION = 1
SPLITS = ('train', 'val')

_VOID = 0  # the segment id of unlabelled pixels (COCO panoptic's VOID)
_OBJECTS = (1, 3)  # things per image
_SIZE = (0.25, 0.45)  # thing size / image size: 24-43 px at 96 px
_TWO_REGIONS = 0.75  # chance that the stuff is two regions rather than one
_SPLIT_OFFSET = 0.2  # the dividing line is within this fraction of the image of the centre
_MIN_REGION = 0.2  # least share of the image of each of two stuff regions
_WAVE_PERIOD = (0.11, 0.19)  # of the image size
_CHECK_CELL = (0.07, 0.11)  # of the image size
_STUFF_CONTRAST = 0.5  # least sum of |RGB difference| between a stuff texture's two colours
_COLOUR_TRIES = 20
_MIN_IMAGE_SIZE = 48
_MAX_ID = 256 ** 3  # segment ids are below this (three 8-bit channels)


# --------------------------------------------------------------------------- metainfo, configs
def panoptic_metainfo() -> dict:
    """``metainfo`` of mmdet's ``CocoPanopticDataset``: ``classes`` (things, then stuff, in
    the order of the categories in the json), ``thing_classes``, ``stuff_classes`` and a
    palette."""
    return dict(classes=(*THINGS, *STUFF), thing_classes=THINGS, stuff_classes=STUFF,
                palette=[(220, 20, 60), (0, 142, 70), (0, 60, 230),
                         (150, 150, 150), (90, 160, 200), (160, 120, 60)])


def categories() -> List[dict]:
    """The ``categories`` of the panoptic json."""
    meta = panoptic_metainfo()
    ids = [k + 1 for k in range(len(THINGS))] + [STUFF_FIRST_ID + k for k in range(len(STUFF))]
    return [dict(id=i, name=name, supercategory='shape' if name in THINGS else 'texture',
                 isthing=int(name in THINGS), color=list(colour))
            for i, name, colour in zip(ids, meta['classes'], meta['palette'])]


def dataset_kwargs(split: str = 'train', root: PathLike = 'data/tiny') -> dict:
    """Dataset config of mmdet's ``CocoPanopticDataset`` for one split."""
    _check_split(split)
    return dict(type='CocoPanopticDataset', data_root=Path(root, NAME).as_posix(),
                ann_file=f'annotations/panoptic_{split}2017.json',
                data_prefix=dict(img=f'{split}2017/', seg=f'annotations/panoptic_{split}2017/'),
                metainfo=panoptic_metainfo())


def metric_kwargs(split: str = 'val', root: PathLike = 'data/tiny') -> dict:
    """Config of mmdet's ``CocoPanopticMetric`` scoring one split."""
    _check_split(split)
    path = Path(root, NAME)
    return dict(type='CocoPanopticMetric',
                ann_file=(path / 'annotations' / f'panoptic_{split}2017.json').as_posix(),
                seg_prefix=(path / 'annotations' / f'panoptic_{split}2017').as_posix() + '/')


# --------------------------------------------------------------------------- segment ids
def id2rgb(ids: np.ndarray) -> np.ndarray:
    """``(H, W)`` segment ids to the ``(H, W, 3)`` uint8 RGB colours of the panoptic PNGs:
    ``R + 256 * G + 256 ** 2 * B = id``."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.min(initial=0) < 0 or ids.max(initial=0) >= _MAX_ID:
        raise ValueError(f'segment ids must be in 0..{_MAX_ID - 1}')
    return np.stack([ids % 256, ids // 256 % 256, ids // 256 ** 2], axis=-1).astype(np.uint8)


def rgb2id(rgb: np.ndarray) -> np.ndarray:
    """The inverse of :func:`id2rgb`: ``(H, W, 3)`` RGB to ``(H, W)`` int64 segment ids."""
    rgb = np.asarray(rgb, dtype=np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 ** 2 * rgb[..., 2]


# --------------------------------------------------------------------------- pixels
def _coords(size: int, angle: float) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel centres in a frame rotated by ``angle`` about the image centre: along and
    across."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5 - size / 2
    c, s = np.cos(angle), np.sin(angle)
    return xs * c + ys * s, -xs * s + ys * c


def _two_colours(rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    first = _any_colour(rng)
    for _ in range(_COLOUR_TRIES):
        second = _any_colour(rng)
        if np.abs(second - first).sum() >= _STUFF_CONTRAST:
            break
    return first, second


def _stuff_texture(rng: np.random.Generator, kind: str, size: int) -> np.ndarray:
    """Float RGB texture of a stuff class over the whole image, in two colours of
    :func:`.tiny_data._any_colour` (any class), with soft blobs."""
    first, second = _two_colours(rng)
    along, across = _coords(size, rng.uniform(0, 2 * np.pi))
    if kind == 'smooth':
        mix = (along - along.min()) / (along.max() - along.min())
    elif kind == 'waves':
        period = rng.uniform(*_WAVE_PERIOD) * size
        mix = 0.5 + 0.5 * np.sin(2 * np.pi * along / period + rng.uniform(0, 2 * np.pi))
    elif kind == 'checks':
        cell = rng.uniform(*_CHECK_CELL) * size
        shift = rng.uniform(0, cell, 2)
        mix = ((np.floor((along + shift[0]) / cell) + np.floor((across + shift[1]) / cell))
               % 2).astype(np.float32)
    else:
        raise ValueError(f'unknown stuff class {kind!r}, expected one of {STUFF}')
    image = first + (second - first) * mix[..., None]
    blobs = rng.normal(0, 1, (4, 4, 3)).astype(np.float32)
    return image + 0.05 * cv2.resize(blobs, (size, size), interpolation=cv2.INTER_CUBIC)


def _stuff_regions(rng: np.random.Generator, size: int) -> List[np.ndarray]:
    """One region (the whole image) or two, on either side of a wavy line, each at least
    :data:`_MIN_REGION` of the image."""
    if rng.random() >= _TWO_REGIONS:
        return [np.ones((size, size), dtype=bool)]
    while True:
        along, across = _coords(size, rng.uniform(0, 2 * np.pi))
        amplitude = rng.uniform(0, 0.08) * size
        wavelength = rng.uniform(0.5, 1.2) * size
        offset = rng.uniform(-_SPLIT_OFFSET, _SPLIT_OFFSET) * size
        side = along - offset + amplitude * np.sin(
            2 * np.pi * across / wavelength + rng.uniform(0, 2 * np.pi)) < 0
        share = side.mean()
        if _MIN_REGION <= share <= 1 - _MIN_REGION:
            return [side, ~side]


def _things(rng: np.random.Generator, bag: _ClassBag, size: int) -> List[_Shape]:
    """1-3 shapes, apart (2 px) and with boxes that barely overlap, as tiny_data's scenes."""
    shapes: List[_Shape] = []
    occupied = np.zeros((size, size), dtype=bool)
    gap = np.ones((2 * _SCENE_GAP + 1, ) * 2, dtype=np.uint8)
    for _ in range(rng.integers(_OBJECTS[0], _OBJECTS[1] + 1)):
        for _ in range(_SCENE_TRIES):
            shape = _place(rng, bag.peek(), rng.uniform(*_SIZE) * size, size)
            if not (shape.mask & occupied).any() and all(
                    _box_iou(shape.box, other.box) <= _SCENE_MAX_IOU for other in shapes):
                break
        else:
            break  # no room left: fewer things
        bag.pop()
        shapes.append(shape)
        occupied |= cv2.dilate(shape.mask.astype(np.uint8), gap).astype(bool)
    return shapes


def _segment_ids(rng: np.random.Generator, count: int) -> List[int]:
    """``count`` distinct random segment ids in ``1 .. 256 ** 3 - 1``."""
    ids: List[int] = []
    while len(ids) < count:
        candidate = int(rng.integers(1, _MAX_ID))
        if candidate not in ids:
            ids.append(candidate)
    return ids


def _bbox(mask: np.ndarray) -> List[int]:
    rows, cols = np.nonzero(mask)
    return [int(cols.min()), int(rows.min()), int(cols.max() - cols.min() + 1),
            int(rows.max() - rows.min() + 1)]


def _render(rng: np.random.Generator, bag: _ClassBag, size: int):
    """One image: its uint8 RGB pixels, its ``(H, W)`` segment-id map and ``segments_info``
    (category ids from :func:`categories`)."""
    regions = _stuff_regions(rng, size)
    kinds = rng.permutation(len(STUFF))[:len(regions)]
    image = np.zeros((size, size, 3), dtype=np.float32)
    for region, kind in zip(regions, kinds):
        image[region] = _stuff_texture(rng, STUFF[kind], size)[region]
    things = _things(rng, bag, size)
    for shape in things:
        _paint_textured(rng, image, shape)
    pixels = _finish(rng, image, _SEG_NOISE)

    covered = np.zeros((size, size), dtype=bool)
    for shape in things:
        covered |= shape.mask
    segments = [(shape.mask, shape.label + 1) for shape in things]
    segments += [(region & ~covered, STUFF_FIRST_ID + int(kind))
                 for region, kind in zip(regions, kinds)]
    segments = [(mask, category) for mask, category in segments if mask.any()]
    ids = _segment_ids(rng, len(segments))
    id_map = np.full((size, size), _VOID, dtype=np.int64)
    info = []
    for (mask, category), segment_id in zip(segments, ids):
        id_map[mask] = segment_id
        info.append(dict(id=segment_id, category_id=category, area=int(mask.sum()),
                         bbox=_bbox(mask), iscrowd=0))
    return pixels, id_map, info


# --------------------------------------------------------------------------- files
def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')


def _rng(seed: int, split: str) -> np.random.Generator:
    return np.random.default_rng([seed, 7919, SPLITS.index(split)])  # 7919: this dataset


def _write(out: Path, params: dict) -> dict:
    size = params['image_size']
    (out / 'annotations').mkdir(parents=True)
    counts = {}
    for split in SPLITS:
        rng = _rng(params['seed'], split)
        bag = _ClassBag(rng, len(THINGS))
        images_dir = out / f'{split}2017'
        png_dir = out / 'annotations' / f'panoptic_{split}2017'
        images_dir.mkdir()
        png_dir.mkdir()
        images, annotations = [], []
        things, stuff = np.zeros(len(THINGS), int), np.zeros(len(STUFF), int)
        pixels_per_class = np.zeros(len(THINGS) + len(STUFF), np.int64)
        for image_id in range(1, params[f'num_{split}'] + 1):
            pixels, id_map, info = _render(rng, bag, size)
            stem = f'{image_id:012d}'
            _save_jpeg(images_dir / f'{stem}.jpg', pixels)
            Image.fromarray(id2rgb(id_map)).save(png_dir / f'{stem}.png')
            images.append(dict(id=image_id, file_name=f'{stem}.jpg', width=size, height=size))
            annotations.append(dict(image_id=image_id, file_name=f'{stem}.png',
                                    segments_info=info))
            for segment in info:
                label = _label(segment['category_id'])
                pixels_per_class[label] += segment['area']
                if label < len(THINGS):
                    things[label] += 1
                else:
                    stuff[label - len(THINGS)] += 1
        _save_json(out / 'annotations' / f'panoptic_{split}2017.json', dict(
            info=dict(description='mmfish tiny synthetic panoptic scenes',
                      version=str(FORMAT_VERSION), contributor='mmfish', url='', year=2017,
                      date_created=''),
            licenses=[dict(id=1, name='CC0 1.0',
                           url='https://creativecommons.org/publicdomain/zero/1.0/')],
            images=images, annotations=annotations, categories=categories()))
        counts[split] = dict(images=len(images), objects=int(things.sum()),
                             per_class=things.tolist(), stuff_segments=stuff.tolist(),
                             pixels=pixels_per_class.tolist())
    return counts


def _label(category_id: int) -> int:
    """mmdet's contiguous label of a category id: things 0-2, stuff 3-5."""
    return category_id - 1 if category_id < STUFF_FIRST_ID else (
        len(THINGS) + category_id - STUFF_FIRST_ID)


def write_tiny_coco_panoptic(root: PathLike = 'data/tiny', seed: int = 0, num_train: int = 48,
                             num_val: int = 16, image_size: int = 96, force: bool = False,
                             log: Log = None) -> TinyDataset:
    """Write ``<root>/coco_panoptic``: COCO panoptic images, segment PNGs and json
    (``CocoPanopticDataset``) of ``num_train`` / ``num_val`` square images of ``image_size``
    px, with 1-3 things on one or two stuff regions each.

    ``log`` (e.g. ``print``) receives progress lines; ``force`` regenerates a complete
    dataset."""
    params = _params(NAME, num_train, num_val, image_size, seed, FORMAT_VERSION,
                     _MIN_IMAGE_SIZE)
    what = (f'{num_train} train + {num_val} val images and segment PNGs of '
            f'{image_size}x{image_size}, 1-3 of {len(THINGS)} things on 1-2 of {len(STUFF)} '
            'stuff textures each')
    return _generate(root, params, _write, what, force, log)


#: the name :func:`.tiny_data.make_tiny_datasets` style makers use
make_coco_panoptic = write_tiny_coco_panoptic


# --------------------------------------------------------------------------- scoring
def read_segments(root: PathLike, split: str = 'val') -> List[dict]:
    """Per image of ``split``: its json ``image`` entry, ``segments_info`` and the ``(H, W)``
    segment-id map decoded from its PNG (``ids``)."""
    _check_split(split)
    path = Path(root) / NAME / 'annotations'
    data = json.loads((path / f'panoptic_{split}2017.json').read_text())
    by_image = {a['image_id']: a for a in data['annotations']}
    out = []
    for image in data['images']:
        ann = by_image[image['id']]
        png = np.asarray(Image.open(path / f'panoptic_{split}2017' / ann['file_name'])
                         .convert('RGB'))
        out.append(dict(image=image, segments_info=ann['segments_info'], ids=rgb2id(png)))
    return out


def ground_truth_prediction(record: dict) -> np.ndarray:
    """The panoptic map that mmdet's models predict (``pred_panoptic_seg.sem_seg``) made from a
    :func:`read_segments` record: ``label + k * 1000`` for the ``k``-th thing (k from 1),
    ``label`` for the stuff, ``len(classes)`` (void) elsewhere."""
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    pan = np.full(record['ids'].shape, len(THINGS) + len(STUFF), dtype=np.int64)
    instance = 0
    for segment in record['segments_info']:
        label = _label(segment['category_id'])
        if label < len(THINGS):
            instance += 1
            label += instance * INSTANCE_OFFSET
        pan[record['ids'] == segment['id']] = label
    return pan


def score_panoptic(root: PathLike, predict: Callable[[dict], np.ndarray],
                   split: str = 'val') -> dict:
    """Score a prediction of every image of ``split`` of ``<root>/coco_panoptic`` with mmdet's
    ``CocoPanopticMetric`` as ``mim test`` does (PQ, SQ, RQ and their ``_th`` and ``_st``
    parts, in %, without the ``coco_panoptic/`` prefix). ``predict(record)`` gets a
    :func:`read_segments` record and returns the ``(H, W)`` panoptic map in mmdet's encoding
    (:func:`ground_truth_prediction`)."""
    import torch
    from mmdet.evaluation import CocoPanopticMetric
    kwargs = metric_kwargs(split, root)
    kwargs.pop('type')
    metric = CocoPanopticMetric(**kwargs)
    metric.dataset_meta = panoptic_metainfo()
    folder = Path(root, NAME, f'{split}2017')
    for record in read_segments(root, split):
        image = record['image']
        pan = np.asarray(predict(record), dtype=np.int64)
        metric.process({}, [dict(
            img_id=image['id'], img_path=str(folder / image['file_name']),
            ori_shape=(image['height'], image['width']),
            pred_panoptic_seg=dict(sem_seg=torch.from_numpy(pan[None].astype(np.int32))))])
    return metric.compute_metrics(metric.results)


def constant_stuff_scores(root: PathLike = 'data/tiny') -> dict:
    """What the panoptic twins' metrics are at chance level: the scores (``coco_panoptic/PQ``,
    ...) on the val split of predicting, for every image, the stuff class that covers the most
    pixels of the training split over the whole image (a model that looks at no image)."""
    marker = json.loads((Path(root) / NAME / '.complete').read_text())
    stuff_pixels = marker['counts']['train']['pixels'][len(THINGS):]
    label = len(THINGS) + int(np.argmax(stuff_pixels))
    scores = score_panoptic(root, lambda record: np.full(record['ids'].shape, label))
    return {f'coco_panoptic/{k}': float(v) for k, v in scores.items()}

