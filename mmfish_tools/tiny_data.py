"""Tiny, learnable synthetic datasets in the on-disk formats of MMDetection (COCO instances),
MMSegmentation (ADE20K) and MMPretrain (ImageNet), for smoke-testing training end to end.

Content. Every image shows shapes on a randomly textured background. In the COCO and ImageNet
datasets a shape's class decides both its form (:data:`SHAPES`) and its hue (:data:`HUES`,
slightly jittered); the background is muted (low saturation) gradients, stripes and blobs plus
pixel noise, so a small network separates the classes within a few hundred CPU iterations.
The ADE20K (segmentation) dataset gives nothing away by colour: the background and every shape
are textures (gradients, stripes, blobs) of colours drawn from one distribution whatever the
class, a shape differing from the background around it only by its own texture and colour, so
that finding a shape takes its outline and naming it takes its form; the background is a class
that is scored. Everything is drawn from a
:class:`numpy.random.Generator` seeded by ``(seed, dataset, split)``: the same arguments give
byte-identical files.

Geometry. A shape is a polygon in pixel coordinates, rounded to 0.01 px, with COCO's
convention that pixel ``(row, col)`` covers ``[col, col + 1) x [row, row + 1)``. A pixel belongs
to the shape when its centre lies inside the polygon (:func:`polygon_mask`); the image, the
ADE20K label map and the COCO ``segmentation`` all come from that one polygon (pycocotools'
own rasterisation differs from it only on some boundary pixels). Shapes in one image are at
least 2 px apart, so every polygon is exactly what is visible.

Layouts under ``root`` (``data/tiny`` by default)::

    coco/                                        mmdet ``CocoDataset``
        annotations/instances_{train,val}2017.json
        {train,val}2017/000000000001.jpg ...
    ade20k/                                      mmseg ``ADE20KDataset``
        images/{training,validation}/ADE_{train,val}_00000001.jpg ...
        annotations/{training,validation}/ADE_{train,val}_00000001.png ...
    imagenet/                                    mmpretrain ``ImageNet``
        train/n00000001/n00000001_1.JPEG ...
        val/ILSVRC2012_val_00000001.JPEG ...
        meta/train.txt                           lines ``n00000001/n00000001_1.JPEG 0``
        meta/val.txt                             lines ``ILSVRC2012_val_00000001.JPEG 0``

- COCO: 1-3 shapes per image, 24-56 px at 128 px (a fixed fraction of the image size), with box
  IoU at most 0.1 between shapes. Annotations carry ``info``, ``licenses``, ``images``,
  ``categories`` (ids 1..N, named after the shapes, supercategory ``shape``) and
  ``annotations`` (a one-polygon ``segmentation``, a circle being a 24-gon; ``bbox`` =
  ``[x, y, w, h]`` of the polygon; ``area`` = polygon area; ``iscrowd`` 0). ``CocoDataset``
  defaults to the 80 COCO classes, so configs pass ``metainfo=tiny_metainfo()``.
- ADE20K: scenes placed as COCO's, textured as above; labels are single-channel uint8 PNGs
  where 0 is the background and shape class ``k`` (0-based) is ``k + 1``. The tiny configs read
  them with mmseg's ``BaseSegDataset`` (:func:`ade20k_dataset_kwargs`: ``reduce_zero_label``
  off, ``metainfo=seg_metainfo()``, classes ``('background', 'circle', ...)``), so the
  background is scored like any class. mmseg's ``ADE20KDataset`` reads the same files as a
  150-class dataset (``reduce_zero_label`` turns the background into 255, ignored). The marker's
  counts also give the pixels of each label (``pixels``, background first), from which
  :func:`seg_chance` computes the chance level.
- ImageNet: one shape per image, near the centre, of random size and rotation; class ``k``
  (0-based) has the WordNet-style id ``n{k + 1:08d}`` (``n00000001``, ...), the val images are
  in shuffled class order. ``ImageNet(split=...)`` reads ``meta/<split>.txt`` and the folder
  ``<split>``; ``metainfo=dict(classes=...)`` replaces the 1000 ImageNet categories.

Each dataset is written into a temporary sibling directory that is renamed into place once
complete, and then holds a ``.complete`` JSON marker with its generation parameters: asking again
for the same parameters does nothing, other parameters (or ``force``) regenerate it. A directory
without the marker is never touched.
"""
import colorsys
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from PIL import Image

#: Every shape class, in class order; a dataset with N classes uses the first N.
SHAPES = ('circle', 'square', 'triangle', 'star', 'cross', 'hexagon')
#: Base hue (HSV, in [0, 1)) of each shape: red, green, blue, yellow, magenta, cyan.
HUES = (0.0, 1 / 3, 2 / 3, 1 / 6, 5 / 6, 1 / 2)
#: The default classes (``num_classes=3``).
CLASSES = SHAPES[:3]
#: The shape datasets, by directory name under ``root`` (every tiny dataset:
#: :data:`.tiny_datasets.DATASETS`).
DATASETS = ('coco', 'ade20k', 'imagenet')
#: Name of the marker file written into a dataset directory once it is complete.
MARKER = '.complete'
#: Bumped whenever the generator's output changes, so that old datasets are regenerated.
FORMAT_VERSION = 2

PathLike = Union[str, Path]
Log = Optional[Callable[[str], None]]

_SPLITS = ('train', 'val')
_ADE_SPLITS = {'train': 'training', 'val': 'validation'}
_CIRCLE_POINTS = 24
_MARGIN = 1.0  # px kept free around every shape
_SCENE_OBJECTS = (1, 3)  # shapes per COCO / ADE20K image
_SCENE_SIZE = (0.1875, 0.4375)  # shape size / image size: 24-56 px at 128 px
_SCENE_MAX_IOU = 0.1  # largest box IoU between two shapes of one image
_SCENE_GAP = 2  # px between the pixels of two shapes of one image
_SCENE_TRIES = 30  # placements tried per shape before the image is left with fewer
_SINGLE_SIZE = (0.35, 0.65)  # ImageNet shape size / image size
_SINGLE_JITTER = 0.12  # ImageNet shape centre offset / image size
_MIN_IMAGE_SIZE = 32
_SEG_MIN_CONTRAST = 0.6  # least sum of |RGB difference| between a shape and what is under it
_SEG_COLOUR_TRIES = 20
_SEG_NOISE = 0.04  # pixel noise (std, of the 0-1 range) of the segmentation dataset
_SEG_FINE_PERIOD = (3.0, 6.0)  # px, of the stripes inside the shapes
_SEG_FINE_DEPTH = (0.15, 0.3)  # their relative amplitude


@dataclass
class TinyDataset:
    """What :func:`make_coco`, :func:`make_ade20k` or :func:`make_imagenet` produced."""
    name: str  #: one of :data:`DATASETS`
    path: Path  #: the dataset directory
    params: dict  #: generation parameters, as stored in the marker
    counts: dict  #: ``{split: {'images': n, 'objects': n, 'per_class': [n, ...]}}``
    skipped: bool  #: the directory was already complete with these parameters
    seconds: float  #: time spent

    def summary(self) -> str:
        """One line: state, images and objects per split, path."""
        splits = ', '.join(f"{s} {c['images']} images / {c['objects']} objects"
                           for s, c in self.counts.items())
        state = 'up to date' if self.skipped else f'written in {self.seconds:.2f} s'
        return f'{self.name}: {state}: {splits} -> {self.path}'


# --------------------------------------------------------------------------- metainfo, configs
def tiny_classes(num_classes: int = 3) -> Tuple[str, ...]:
    """The class names of a dataset with ``num_classes`` shapes."""
    if not 1 <= num_classes <= len(SHAPES):
        raise ValueError(f'num_classes must be in 1..{len(SHAPES)}, got {num_classes}')
    return SHAPES[:num_classes]


def tiny_metainfo(num_classes: int = 3) -> dict:
    """``metainfo`` for configs: the class names and an RGB palette of their base colours."""
    palette = [tuple(round(255 * c) for c in colorsys.hsv_to_rgb(hue, 1.0, 1.0))
               for hue in HUES[:num_classes]]
    return dict(classes=tiny_classes(num_classes), palette=palette)


def coco_dataset_kwargs(split: str = 'train', root: PathLike = 'data/tiny',
                        num_classes: int = 3) -> dict:
    """Dataset config of mmdet's ``CocoDataset`` for one split of the tiny COCO dataset."""
    _check_split(split)
    return dict(type='CocoDataset', data_root=Path(root, 'coco').as_posix(),
                ann_file=f'annotations/instances_{split}2017.json',
                data_prefix=dict(img=f'{split}2017/'), metainfo=tiny_metainfo(num_classes))


def seg_metainfo(num_classes: int = 3) -> dict:
    """``metainfo`` of the segmentation dataset: the background (label 0) then the shapes."""
    shapes = tiny_metainfo(num_classes)
    return dict(classes=('background', *shapes['classes']),
                palette=[(0, 0, 0), *shapes['palette']])


def seg_chance(pixels: Sequence[int]) -> dict:
    """Chance level of a segmentation split whose label ``i`` covers ``pixels[i]`` pixels: a
    constant prediction of the majority label, as mmseg's ``IoUMetric`` scores it (``aAcc``,
    ``mIoU`` and ``mAcc`` in %; a constant prediction of label ``i`` has IoU ``p_i`` on label
    ``i`` and 0 elsewhere, so the majority label is also the best constant for ``mIoU``)."""
    pixels = np.asarray(pixels, dtype=np.float64)
    share = pixels.max() / pixels.sum()
    return dict(aAcc=float(100 * share), mIoU=float(100 * share / len(pixels)),
                mAcc=100 / len(pixels))


def ade20k_dataset_kwargs(split: str = 'train', root: PathLike = 'data/tiny',
                          num_classes: int = 3) -> dict:
    """Dataset config of mmseg's ``BaseSegDataset`` for one split of the tiny ADE20K dataset:
    the background is label 0, scored as a class (:func:`seg_metainfo`)."""
    _check_split(split)
    folder = _ADE_SPLITS[split]
    return dict(type='BaseSegDataset', data_root=Path(root, 'ade20k').as_posix(),
                data_prefix=dict(img_path=f'images/{folder}',
                                 seg_map_path=f'annotations/{folder}'),
                img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=False,
                metainfo=seg_metainfo(num_classes))


def imagenet_dataset_kwargs(split: str = 'train', root: PathLike = 'data/tiny',
                            num_classes: int = 3) -> dict:
    """Dataset config of mmpretrain's ``ImageNet`` for one split of the tiny ImageNet dataset."""
    _check_split(split)
    return dict(type='ImageNet', data_root=Path(root, 'imagenet').as_posix(), split=split,
                metainfo=dict(classes=tiny_classes(num_classes)))


# --------------------------------------------------------------------------- geometry
def shape_polygon(shape: str, center: Sequence[float], size: float,
                  angle: float = 0.0) -> np.ndarray:
    """The outline of ``shape`` as a ``(K, 2)`` array of ``(x, y)`` vertices.

    Unrotated, the shape fills the ``size`` x ``size`` square centred on ``center`` (a circle's
    diameter, a square's side, a triangle's base and height); ``angle`` (radians) rotates it
    about ``center``.
    """
    if shape == 'circle':
        t = np.linspace(0, 2 * np.pi, _CIRCLE_POINTS, endpoint=False)
        unit = 0.5 * np.stack([np.cos(t), np.sin(t)], axis=1)
    elif shape == 'square':
        unit = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    elif shape == 'triangle':
        unit = np.array([[0.0, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    elif shape == 'star':
        t = np.linspace(0, 2 * np.pi, 10, endpoint=False) - np.pi / 2
        radius = np.where(np.arange(10) % 2 == 0, 0.5, 0.2)
        unit = radius[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1)
    elif shape == 'cross':
        a, b = 0.17, 0.5
        unit = np.array([[-a, -b], [a, -b], [a, -a], [b, -a], [b, a], [a, a],
                         [a, b], [-a, b], [-a, a], [-b, a], [-b, -a], [-a, -a]])
    elif shape == 'hexagon':
        t = np.linspace(0, 2 * np.pi, 6, endpoint=False)
        unit = 0.5 * np.stack([np.cos(t), np.sin(t)], axis=1)
    else:
        raise ValueError(f'unknown shape {shape!r}, expected one of {SHAPES}')
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return size * unit @ rotation.T + np.asarray(center, dtype=np.float64)


def polygon_mask(polygon: np.ndarray, height: int, width: int) -> np.ndarray:
    """Boolean ``(height, width)`` mask of the pixels whose centre lies inside ``polygon``.

    Pixel ``(row, col)`` has its centre at ``(col + 0.5, row + 0.5)``, as in COCO; the
    even-odd rule decides points on the outline consistently.
    """
    mask = np.zeros((height, width), dtype=bool)
    x0, y0 = np.floor(polygon.min(axis=0)).astype(int).clip(0, [width, height])
    x1, y1 = np.ceil(polygon.max(axis=0)).astype(int).clip(0, [width, height])
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
    inside = np.zeros(ys.shape, dtype=bool)
    (ax, ay), (bx, by) = polygon.T, np.roll(polygon, -1, axis=0).T
    for xa, ya, xb, yb in zip(ax, ay, bx, by):
        if ya == yb:  # a horizontal edge crosses no horizontal ray
            continue
        crosses = (ya > ys) != (yb > ys)
        inside ^= crosses & (xs < xa + (ys - ya) * (xb - xa) / (yb - ya))
    mask[y0:y1, x0:x1] = inside
    return mask


def polygon_area(polygon: np.ndarray) -> float:
    """Area of a simple polygon (shoelace formula)."""
    x, y = polygon.T
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


@dataclass
class _Shape:
    label: int  # 0-based class
    polygon: np.ndarray  # (K, 2) vertices, rounded to 0.01 px
    mask: np.ndarray  # (H, W) bool, polygon_mask(polygon)

    @property
    def box(self) -> np.ndarray:
        """``[x1, y1, x2, y2]`` of the polygon."""
        return np.concatenate([self.polygon.min(axis=0), self.polygon.max(axis=0)])


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    w, h = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None)
    inter = w * h
    union = np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter
    return float(inter / union)


def _place(rng: np.random.Generator, label: int, size: float, image_size: int,
           jitter: Optional[float] = None) -> _Shape:
    """A randomly rotated shape of ``size`` px, entirely inside the image; anywhere, or within
    ``jitter * image_size`` of the centre when ``jitter`` is given."""
    outline = shape_polygon(SHAPES[label], (0.0, 0.0), size, rng.uniform(0, 2 * np.pi))
    low = _MARGIN - outline.min(axis=0)
    high = image_size - _MARGIN - outline.max(axis=0)
    if jitter is not None:
        middle = image_size / 2
        low, high = (np.clip(middle - jitter * image_size, low, high),
                     np.clip(middle + jitter * image_size, low, high))
    polygon = np.round(outline + rng.uniform(low, high), 2)
    return _Shape(label, polygon, polygon_mask(polygon, image_size, image_size))


class _ClassBag:
    """Classes in rounds of shuffled permutations, so that class counts never differ by more
    than one. ``peek`` says the next class, ``pop`` takes it once it is used."""

    def __init__(self, rng: np.random.Generator, num_classes: int):
        self.rng, self.num_classes, self.queue = rng, num_classes, []

    def peek(self) -> int:
        if not self.queue:
            self.queue = self.rng.permutation(self.num_classes).tolist()
        return self.queue[0]

    def pop(self) -> int:
        label = self.peek()
        self.queue.pop(0)
        return label


# --------------------------------------------------------------------------- pixels
def _hsv(hue: float, saturation: float, value: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(hue % 1.0, saturation, value), dtype=np.float32)


def _muted_colour(rng: np.random.Generator) -> np.ndarray:
    return _hsv(rng.random(), rng.uniform(0.0, 0.25), rng.uniform(0.3, 0.75))


def _class_colour(rng: np.random.Generator, label: int) -> np.ndarray:
    return _hsv(HUES[label] + rng.normal(0, 0.02), rng.uniform(0.6, 0.95), rng.uniform(0.65, 0.95))


def _ramp(size: int, angle: float) -> np.ndarray:
    """``(size, size)`` linear ramp from 0 to 1 along direction ``angle``."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    ramp = xs * np.cos(angle) + ys * np.sin(angle)
    return (ramp - ramp.min()) / (ramp.max() - ramp.min())


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Float RGB texture in muted colours: a gradient between two colours, faint stripes and
    smooth colour blobs."""
    start, end = _muted_colour(rng), _muted_colour(rng)
    image = start + (end - start) * _ramp(size, rng.uniform(0, 2 * np.pi))[..., None]
    cycles, phase = rng.uniform(2, 8), rng.uniform(0, 2 * np.pi)
    stripes = np.sin(2 * np.pi * cycles * _ramp(size, rng.uniform(0, 2 * np.pi)) + phase)
    image += rng.uniform(0.02, 0.08) * stripes[..., None] * _muted_colour(rng)
    blobs = rng.normal(0, 1, (4, 4, 3)).astype(np.float32)
    image += 0.04 * cv2.resize(blobs, (size, size), interpolation=cv2.INTER_CUBIC)
    return image


def _paint(rng: np.random.Generator, image: np.ndarray, shape: _Shape) -> None:
    """Fill ``shape`` with its class colour, lit by a gentle linear shading."""
    rows, cols = np.nonzero(shape.mask)
    angle = rng.uniform(0, 2 * np.pi)
    along = (cols - cols.mean()) * np.cos(angle) + (rows - rows.mean()) * np.sin(angle)
    along /= max(np.abs(along).max(), 1.0)
    image[rows, cols] = _class_colour(rng, shape.label) * (1 + 0.15 * along)[:, None]


def _finish(rng: np.random.Generator, image: np.ndarray, noise: float = 0.03) -> np.ndarray:
    """Add pixel noise and quantise to uint8 RGB."""
    image = image + rng.normal(0, noise, image.shape).astype(np.float32)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def _any_colour(rng: np.random.Generator) -> np.ndarray:
    """A colour of the one distribution of the segmentation dataset: any hue, saturation and
    value, whatever the class."""
    return _hsv(rng.random(), rng.uniform(0.0, 0.9), rng.uniform(0.15, 0.95))


def _texture(rng: np.random.Generator, size: int, first: np.ndarray) -> np.ndarray:
    """Float RGB texture of the segmentation dataset: a gradient from ``first`` to a nearby
    colour, stripes of another colour of :func:`_any_colour` and smooth blobs."""
    end = first + rng.uniform(-0.2, 0.2, 3).astype(np.float32)
    image = first + (end - first) * _ramp(size, rng.uniform(0, 2 * np.pi))[..., None]
    cycles, phase = rng.uniform(2, 10), rng.uniform(0, 2 * np.pi)
    stripes = np.sin(2 * np.pi * cycles * _ramp(size, rng.uniform(0, 2 * np.pi)) + phase)
    image += rng.uniform(0.0, 0.12) * stripes[..., None] * _any_colour(rng)
    blobs = rng.normal(0, 1, (4, 4, 3)).astype(np.float32)
    image += 0.05 * cv2.resize(blobs, (size, size), interpolation=cv2.INTER_CUBIC)
    return image


def _paint_textured(rng: np.random.Generator, image: np.ndarray, shape: _Shape) -> None:
    """Fill ``shape`` with a texture of its own whose colour is drawn, whatever the class, from
    :func:`_any_colour` until it differs enough from the image under the shape to be seen."""
    under = image[shape.mask].mean(axis=0)
    for _ in range(_SEG_COLOUR_TRIES):
        colour = _any_colour(rng)
        if np.abs(colour - under).sum() >= _SEG_MIN_CONTRAST:
            break
    size = image.shape[0]
    texture = _texture(rng, size, colour)
    # fine stripes (a period of 3-6 px) set a shape's inside apart from the smooth background,
    # whatever its class: finding the shapes is easy, naming them takes their outline
    period, angle = rng.uniform(*_SEG_FINE_PERIOD), rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    fine = np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / period)
    texture *= (1 + rng.uniform(*_SEG_FINE_DEPTH) * fine)[..., None]
    image[shape.mask] = texture[shape.mask]


def _render_scene(rng: np.random.Generator, bag: _ClassBag, image_size: int,
                  textured: bool = False) -> Tuple[np.ndarray, List[_Shape]]:
    """A COCO / ADE20K image: 1-3 shapes, apart and with boxes that barely overlap; coloured by
    class, or (``textured``) textured in colours that do not depend on the class."""
    image = (_texture(rng, image_size, _any_colour(rng)) if textured
             else _background(rng, image_size))
    shapes: List[_Shape] = []
    occupied = np.zeros((image_size, image_size), dtype=bool)  # shapes and their margins
    gap = np.ones((2 * _SCENE_GAP + 1, ) * 2, dtype=np.uint8)
    for _ in range(rng.integers(_SCENE_OBJECTS[0], _SCENE_OBJECTS[1] + 1)):
        for _ in range(_SCENE_TRIES):
            size = rng.uniform(*_SCENE_SIZE) * image_size
            shape = _place(rng, bag.peek(), size, image_size)
            if not (shape.mask & occupied).any() and all(
                    _box_iou(shape.box, other.box) <= _SCENE_MAX_IOU for other in shapes):
                break
        else:
            break  # no room left: keep the image with fewer shapes
        bag.pop()
        shapes.append(shape)
        occupied |= cv2.dilate(shape.mask.astype(np.uint8), gap).astype(bool)
        (_paint_textured if textured else _paint)(rng, image, shape)
    return _finish(rng, image, _SEG_NOISE if textured else 0.03), shapes


def _render_single(rng: np.random.Generator, label: int, image_size: int) -> np.ndarray:
    """An ImageNet image: one shape of class ``label`` near the centre."""
    image = _background(rng, image_size)
    size = rng.uniform(*_SINGLE_SIZE) * image_size
    _paint(rng, image, _place(rng, label, size, image_size, jitter=_SINGLE_JITTER))
    return _finish(rng, image)


# --------------------------------------------------------------------------- files
def _save_jpeg(path: Path, image: np.ndarray) -> None:
    Image.fromarray(image).save(path, format='JPEG', quality=95, subsampling=0)


def _save_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, separators=(',', ':')))


def _rng(seed: int, dataset: str, split: str) -> np.random.Generator:
    """The generator of one split of one dataset, independent of all others."""
    return np.random.default_rng([seed, DATASETS.index(dataset), _SPLITS.index(split)])


def _counts(labels: Sequence[int], images: int, num_classes: int) -> dict:
    per_class = np.bincount(np.asarray(labels, dtype=int), minlength=num_classes)
    return dict(images=images, objects=len(labels), per_class=per_class.tolist())


def _write_coco(out: Path, p: dict) -> dict:
    size, num_classes = p['image_size'], p['num_classes']
    categories = [dict(id=k + 1, name=name, supercategory='shape')
                  for k, name in enumerate(tiny_classes(num_classes))]
    (out / 'annotations').mkdir(parents=True)
    counts = {}
    for split in _SPLITS:
        rng = _rng(p['seed'], 'coco', split)
        bag = _ClassBag(rng, num_classes)
        folder = out / f'{split}2017'
        folder.mkdir()
        images, annotations = [], []
        for image_id in range(1, p[f'num_{split}'] + 1):
            pixels, shapes = _render_scene(rng, bag, size)
            file_name = f'{image_id:012d}.jpg'
            _save_jpeg(folder / file_name, pixels)
            images.append(dict(id=image_id, file_name=file_name, width=size, height=size,
                               license=1))
            for shape in shapes:
                (x1, y1), (x2, y2) = shape.polygon.min(axis=0), shape.polygon.max(axis=0)
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=image_id, category_id=shape.label + 1,
                    segmentation=[shape.polygon.ravel().tolist()],
                    area=round(polygon_area(shape.polygon), 2),
                    bbox=[float(x1), float(y1), float(round(x2 - x1, 2)),
                          float(round(y2 - y1, 2))],
                    iscrowd=0))
        _save_json(out / 'annotations' / f'instances_{split}2017.json', dict(
            info=dict(description='mmfish tiny synthetic shapes', version=str(FORMAT_VERSION),
                      contributor='mmfish', url='', year=2017, date_created=''),
            licenses=[dict(id=1, name='CC0 1.0',
                           url='https://creativecommons.org/publicdomain/zero/1.0/')],
            images=images, annotations=annotations, categories=categories))
        counts[split] = _counts([a['category_id'] - 1 for a in annotations], len(images),
                                num_classes)
    return counts


def _write_ade20k(out: Path, p: dict) -> dict:
    size, num_classes = p['image_size'], p['num_classes']
    counts = {}
    for split, folder in _ADE_SPLITS.items():
        rng = _rng(p['seed'], 'ade20k', split)
        bag = _ClassBag(rng, num_classes)
        images, annotations = out / 'images' / folder, out / 'annotations' / folder
        images.mkdir(parents=True)
        annotations.mkdir(parents=True)
        labels, label_pixels = [], np.zeros(num_classes + 1, dtype=np.int64)
        for index in range(1, p[f'num_{split}'] + 1):
            pixels, shapes = _render_scene(rng, bag, size, textured=True)
            seg_map = np.zeros((size, size), dtype=np.uint8)  # 0: background
            for shape in shapes:
                seg_map[shape.mask] = shape.label + 1
                labels.append(shape.label)
            label_pixels += np.bincount(seg_map.ravel(), minlength=num_classes + 1)
            stem = f'ADE_{split}_{index:08d}'
            _save_jpeg(images / f'{stem}.jpg', pixels)
            Image.fromarray(seg_map).save(annotations / f'{stem}.png')
        counts[split] = dict(_counts(labels, p[f'num_{split}'], num_classes),
                             pixels=label_pixels.tolist())
    return counts


def _write_imagenet(out: Path, p: dict) -> dict:
    size, num_classes = p['image_size'], p['num_classes']
    wnids = [f'n{k + 1:08d}' for k in range(num_classes)]
    (out / 'meta').mkdir(parents=True)
    counts = {}
    for split in _SPLITS:
        rng = _rng(p['seed'], 'imagenet', split)
        per_class = p[f'num_{split}']
        if split == 'train':  # class folders, as ImageNet's train set
            labels = np.repeat(np.arange(num_classes), per_class)
            files = [f'{wnids[k]}/{wnids[k]}_{i + 1}.JPEG' for k in range(num_classes)
                     for i in range(per_class)]
            for wnid in wnids:
                (out / split / wnid).mkdir(parents=True)
        else:  # one flat folder of shuffled classes, as ImageNet's val set
            labels = rng.permutation(np.repeat(np.arange(num_classes), per_class))
            files = [f'ILSVRC2012_val_{i + 1:08d}.JPEG' for i in range(len(labels))]
            (out / split).mkdir()
        for file, label in zip(files, labels):
            _save_jpeg(out / split / file, _render_single(rng, int(label), size))
        lines = ''.join(f'{file} {label}\n' for file, label in zip(files, labels))
        (out / 'meta' / f'{split}.txt').write_text(lines)
        counts[split] = _counts(labels, len(files), num_classes)
    return counts


# --------------------------------------------------------------------------- datasets
def _check_split(split: str) -> None:
    if split not in _SPLITS:
        raise ValueError(f'split must be one of {_SPLITS}, got {split!r}')


def _params(name: str, num_train: int, num_val: int, image_size: int, seed: int,
            format_version: int = FORMAT_VERSION, min_size: int = _MIN_IMAGE_SIZE,
            **extra) -> dict:
    """The parameters a dataset's marker stores (checked): ``extra`` adds the dataset's own."""
    if image_size < min_size:
        raise ValueError(f'image_size must be at least {min_size}, got {image_size}')
    if num_train < 1 or num_val < 1 or seed < 0:
        raise ValueError(f'num_train and num_val must be positive and seed non-negative (got '
                         f'{num_train}, {num_val}, {seed})')
    return dict(dataset=name, format_version=format_version, num_train=num_train,
                num_val=num_val, image_size=image_size, seed=seed, **extra)


def _read_marker(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _generate(root: PathLike, params: dict, write: Callable[[Path, dict], dict], what: str,
              force: bool, log: Log) -> TinyDataset:
    """Write dataset ``params['dataset']`` under ``root`` with ``write(directory, params)``
    (which returns the counts) unless it is already complete with ``params``."""
    name, start = params['dataset'], time.perf_counter()
    target = Path(root) / name
    marker = _read_marker(target / MARKER)
    if not force and marker is not None and marker.get('params') == params:
        if log:
            log(f'{name}: {target} is complete with these parameters, skipped')
        return TinyDataset(name, target, params, marker['counts'], True,
                           time.perf_counter() - start)
    if marker is None and target.exists():
        raise FileExistsError(f'{target} exists but was not written by '
                              f'mmfish_tools.tiny_data (it has no {MARKER}): move it away or '
                              f'choose another root')
    if log:
        log(f'{name}: writing {what} to {target}')
    staging = target.with_name(f'.{name}.tmp-{os.getpid()}')
    trash = target.with_name(f'.{name}.old-{os.getpid()}')
    for stale in (staging, trash):
        shutil.rmtree(stale, ignore_errors=True)
    try:
        counts = write(staging, params)
        _save_json(staging / MARKER, dict(params=params, counts=counts))
        if target.exists():
            target.rename(trash)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)
    dataset = TinyDataset(name, target, params, counts, False, time.perf_counter() - start)
    if log:
        log(dataset.summary())
    return dataset


def make_coco(root: PathLike = 'data/tiny', num_train: int = 48, num_val: int = 16,
              image_size: int = 128, num_classes: int = 3, seed: int = 0, force: bool = False,
              log: Log = None) -> TinyDataset:
    """Write ``<root>/coco``: COCO instances (``CocoDataset``) of ``num_train`` / ``num_val``
    square images of ``image_size`` px with 1-3 shapes each.

    ``log`` (e.g. ``print``) receives progress lines; ``force`` regenerates a complete dataset.
    """
    tiny_classes(num_classes)  # validates
    params = _params('coco', num_train, num_val, image_size, seed, num_classes=num_classes)
    what = (f'{num_train} train + {num_val} val images of {image_size}x{image_size}, '
            f'1-3 of {num_classes} shapes each')
    return _generate(root, params, _write_coco, what, force, log)


def make_ade20k(root: PathLike = 'data/tiny', num_train: int = 48, num_val: int = 16,
                image_size: int = 128, num_classes: int = 3, seed: int = 0,
                force: bool = False, log: Log = None) -> TinyDataset:
    """Write ``<root>/ade20k``: ADE20K images and label maps (``ADE20KDataset``) of
    ``num_train`` / ``num_val`` square images of ``image_size`` px with 1-3 shapes each."""
    tiny_classes(num_classes)  # validates
    params = _params('ade20k', num_train, num_val, image_size, seed, num_classes=num_classes)
    what = (f'{num_train} training + {num_val} validation images and label maps of '
            f'{image_size}x{image_size}, 1-3 of {num_classes} shapes each')
    return _generate(root, params, _write_ade20k, what, force, log)


def make_imagenet(root: PathLike = 'data/tiny', num_train: int = 32, num_val: int = 8,
                  image_size: int = 64, num_classes: int = 3, seed: int = 0,
                  force: bool = False, log: Log = None) -> TinyDataset:
    """Write ``<root>/imagenet``: an ImageNet layout (``ImageNet``) with ``num_train`` /
    ``num_val`` square images of ``image_size`` px **per class**, one shape each."""
    tiny_classes(num_classes)  # validates
    params = _params('imagenet', num_train, num_val, image_size, seed, num_classes=num_classes)
    what = (f'{num_train} train + {num_val} val images per class of {image_size}x{image_size}, '
            f'{num_classes} classes, one shape each')
    return _generate(root, params, _write_imagenet, what, force, log)
