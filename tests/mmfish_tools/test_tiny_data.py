"""The tiny synthetic datasets of ``mmfish_tools.tiny_data``: they load with the toolboxes'
own dataset classes and COCO evaluator, are deterministic and class-balanced, their masks agree
with their boxes and pixels, and their generation is idempotent and atomic."""
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from mmfish_tools import tiny_data as tiny
from mmfish_tools.tiny_data import (
    CLASSES,
    MARKER,
    ade20k_dataset_kwargs,
    coco_dataset_kwargs,
    imagenet_dataset_kwargs,
    make_coco,
    polygon_mask,
    seg_chance,
    seg_metainfo,
    tiny_metainfo,
)
from mmfish_tools.tiny_datasets import make_tiny_datasets

from tests.conftest import REPO

# pycocotools with numpy 2, outside mmfish
pytestmark = pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')

SIZES = dict(train=48, val=16)  # COCO and ADE20K images
PER_CLASS = dict(train=32, val=8)  # ImageNet images per class


@pytest.fixture(scope='module')
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('tiny')
    make_tiny_datasets(root)
    return root


def _build(scope: str, dataset_cls, kwargs: dict, **extra):
    """Build a dataset from its config as the toolbox's runner does: with the toolbox as the
    default scope, so that the pipeline's transforms resolve."""
    kwargs = {k: v for k, v in kwargs.items() if k != 'type'}
    with DefaultScope.overwrite_default_scope(scope):
        return dataset_cls(**kwargs, **extra)


def _dominant_channel(rgb: np.ndarray, mask: np.ndarray) -> int:
    """The strongest RGB channel inside ``mask`` shrunk by a pixel (JPEG blurs the outline)."""
    inner = mask.copy()
    inner[1:-1, 1:-1] &= mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    return int(np.argmax(rgb[inner].mean(axis=0)))


def _saturation(rgb: np.ndarray) -> np.ndarray:
    """HSV saturation: the background is muted (below about 0.3), the shapes are vivid."""
    high, low = rgb.max(axis=-1).astype(float), rgb.min(axis=-1)
    return (high - low) / np.maximum(high, 1)


def _balanced(counts) -> bool:
    return len(counts) == len(CLASSES) and max(counts) - min(counts) <= 1


def _coco_json(root: Path, split: str) -> dict:
    return json.loads((root / 'coco' / 'annotations' / f'instances_{split}2017.json').read_text())


@pytest.mark.parametrize('split', ['train', 'val'])
def test_coco_loads_with_mmdet(root, split):
    from mmdet.datasets import CocoDataset
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]
    dataset = _build('mmdet', CocoDataset, coco_dataset_kwargs(split, root), pipeline=pipeline)
    assert len(dataset) == SIZES[split]
    assert dataset.metainfo['classes'] == CLASSES
    for i in range(len(dataset)):
        results = dataset[i]
        rgb = results['img'][..., ::-1]  # mmcv loads BGR
        boxes = results['gt_bboxes'].numpy()
        labels = results['gt_bboxes_labels']
        masks = results['gt_masks'].to_ndarray().astype(bool)
        assert 1 <= len(boxes) <= 3 and rgb.shape == (128, 128, 3)
        assert masks.sum(axis=0).max() == 1  # shapes never overlap
        for box, label, mask in zip(boxes, labels, masks):
            rows, cols = np.nonzero(mask)
            extent = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
            assert np.abs(extent - box).max() <= 2.0
            assert 24 * 0.7 <= (box[2:] - box[:2]).max() <= 56 * 1.42
            assert _dominant_channel(rgb, mask) == label  # red circle, green square, blue triangle


def test_coco_annotations(root):
    for split in SIZES:
        coco = _coco_json(root, split)
        assert set(coco) == {'info', 'licenses', 'images', 'annotations', 'categories'}
        assert coco['categories'] == [dict(id=k + 1, name=name, supercategory='shape')
                                      for k, name in enumerate(CLASSES)]
        counts = np.bincount([a['category_id'] - 1 for a in coco['annotations']])
        assert _balanced(counts.tolist())
        for ann in coco['annotations']:
            polygon = np.array(ann['segmentation'][0]).reshape(-1, 2)
            x, y, w, h = ann['bbox']
            assert np.allclose([x, y, x + w, y + h],
                               [*polygon.min(axis=0), *polygon.max(axis=0)], atol=0.011)
            assert ann['iscrowd'] == 0 and 0 < ann['area'] <= w * h
            if ann['category_id'] == 1:
                assert len(polygon) == 24  # a circle
                assert ann['area'] == pytest.approx(np.pi * w * h / 4, rel=0.03)


def test_coco_metric_scores_the_drawn_shapes_perfectly(root):
    """pycocotools loads the val annotations, and the pixels of the drawn shapes, given as
    predictions, match them at every IoU threshold up to 0.95."""
    import torch
    from mmdet.evaluation import CocoMetric
    ann_file = root / 'coco' / 'annotations' / 'instances_val2017.json'
    metric = CocoMetric(ann_file=str(ann_file), metric=['bbox', 'segm'])
    metric.dataset_meta = tiny_metainfo()
    coco = json.loads(ann_file.read_text())
    for image in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == image['id']]
        boxes = [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)]
        masks = [polygon_mask(np.array(a['segmentation'][0]).reshape(-1, 2), 128, 128)
                 for a in anns]
        pred = dict(bboxes=torch.tensor(boxes), scores=torch.ones(len(anns)),
                    labels=torch.tensor([a['category_id'] - 1 for a in anns]),
                    masks=torch.from_numpy(np.stack(masks)))
        metric.process({}, [dict(pred_instances=pred, img_id=image['id'], ori_shape=(128, 128))])
    scores = metric.compute_metrics(metric.results)
    assert scores['bbox_mAP'] == pytest.approx(1.0)
    assert scores['segm_mAP'] == pytest.approx(1.0)


@pytest.mark.parametrize('split', ['train', 'val'])
def test_ade20k_loads_with_mmseg(root, split):
    """The tiny configs' view: mmseg's BaseSegDataset, the background (0) scored as a class."""
    from mmseg.datasets import BaseSegDataset
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    kwargs = ade20k_dataset_kwargs(split, root)
    assert kwargs['type'] == 'BaseSegDataset'
    dataset = _build('mmseg', BaseSegDataset, kwargs, pipeline=pipeline)
    assert len(dataset) == SIZES[split]
    assert dataset.metainfo['classes'] == ('background', *CLASSES) == seg_metainfo()['classes']
    seen = set()
    for i in range(len(dataset)):
        results = dataset[i]
        seg = results['gt_seg_map']
        raw = np.array(Image.open(results['seg_map_path']))
        assert raw.dtype == np.uint8 and raw.ndim == 2 and raw.max() <= len(CLASSES)
        assert np.array_equal(seg, raw) and 0 in seg and 255 not in seg  # nothing ignored
        assert results['img'].shape == (128, 128, 3)
        seen |= set(np.unique(seg).tolist())
    assert seen == set(range(len(CLASSES) + 1))
    assert Path(results['img_path']).stem == Path(results['seg_map_path']).stem


def test_ade20k_reads_as_ade20k_too(root):
    """mmseg's own ADE20KDataset reads the same files: 150 classes, background ignored."""
    from mmseg.datasets import ADE20KDataset
    kwargs = {k: v for k, v in ade20k_dataset_kwargs('val', root).items()
              if k in ('data_root', 'data_prefix')}
    dataset = _build('mmseg', ADE20KDataset, kwargs,
                     pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    assert len(dataset) == SIZES['val'] and len(dataset.metainfo['classes']) == 150
    results = dataset[0]
    raw = np.array(Image.open(results['seg_map_path']))
    assert np.array_equal(results['gt_seg_map'], np.where(raw == 0, 255, raw.astype(int) - 1))


def _shape_colours(root: Path):
    """Mean RGB (inside the shape shrunk by a pixel) and class of every shape of both splits
    of the ADE20K dataset (shapes never touch, so a label's connected parts are the shapes)."""
    import cv2
    colours, labels = [], []
    for split in SIZES:
        folder = {'train': 'training', 'val': 'validation'}[split]
        for png in sorted((root / 'ade20k' / 'annotations' / folder).glob('*.png')):
            seg = np.array(Image.open(png))
            rgb = np.array(Image.open(root / 'ade20k' / 'images' / folder / f'{png.stem}.jpg'))
            for label in set(np.unique(seg).tolist()) - {0}:
                count, parts = cv2.connectedComponents((seg == label).astype(np.uint8))
                for part in range(1, count):
                    inner = cv2.erode((parts == part).astype(np.uint8), np.ones((3, 3)))
                    colours.append(rgb[inner.astype(bool)].mean(axis=0))
                    labels.append(label - 1)
    return np.array(colours), np.array(labels)


def test_ade20k_colour_does_not_give_the_class_away(root):
    """Every class is painted from one colour distribution: a nearest-class-mean guess of the
    class from a shape's mean colour (leave one out) is about chance (1/3), where on the COCO
    and ImageNet datasets the dominant channel alone names the class."""
    colours, labels = _shape_colours(root)
    assert len(labels) > 100
    hits = 0
    for i in range(len(labels)):
        keep = np.arange(len(labels)) != i
        means = [colours[keep & (labels == k)].mean(axis=0) for k in range(len(CLASSES))]
        hits += int(np.argmin([np.abs(colours[i] - m).sum() for m in means]) == labels[i])
    assert hits / len(labels) < 0.5
    assert np.mean([int(np.argmax(c)) == k for c, k in zip(colours, labels)]) < 0.5


def test_ade20k_pixels_and_chance(root):
    """The marker counts the pixels of every label (background first), and the tiny seg
    twins state the chance level of the val split: the majority label everywhere."""
    from mmfish_tools.tiny_twins import DEMO_TWINS, TWINS
    counts = json.loads((root / 'ade20k' / MARKER).read_text())['counts']
    for split in SIZES:
        pixels = counts[split]['pixels']
        assert len(pixels) == len(CLASSES) + 1 and sum(pixels) == SIZES[split] * 128 * 128
        assert pixels[0] == max(pixels)  # background is the majority label
    chance = seg_chance(counts['val']['pixels'])
    assert chance['mIoU'] == pytest.approx(chance['aAcc'] / (len(CLASSES) + 1))
    for twin in (t for t in (*TWINS, *DEMO_TWINS) if t.toolbox == 'mmseg'):
        assert set(twin.metrics) == {'mIoU', 'aAcc'}
        for name in twin.metrics:
            assert twin.chance[name] == pytest.approx(chance[name], abs=0.05)


def test_ade20k_class_balance(root):
    counts = json.loads((root / 'ade20k' / MARKER).read_text())['counts']
    for split in SIZES:
        assert counts[split]['images'] == SIZES[split]
        assert _balanced(counts[split]['per_class'])


@pytest.mark.parametrize('split', ['train', 'val'])
def test_imagenet_loads_with_mmpretrain(root, split):
    from mmpretrain.datasets import ImageNet
    dataset = _build('mmpretrain', ImageNet, imagenet_dataset_kwargs(split, root),
                     pipeline=[dict(type='LoadImageFromFile')])
    assert dataset.CLASSES == CLASSES
    assert len(dataset) == PER_CLASS[split] * len(CLASSES)
    labels = [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]
    assert np.bincount(labels).tolist() == [PER_CLASS[split]] * len(CLASSES)
    assert dataset[0]['img'].shape == (64, 64, 3)
    for i in range(len(dataset)):
        rgb = np.array(Image.open(dataset.get_data_info(i)['img_path']))
        assert _dominant_channel(rgb, _saturation(rgb) > 0.5) == labels[i]


def test_imagenet_class_folders_agree_with_meta(root):
    """Without ``ann_file``, mmpretrain labels the train images by their sorted class folders;
    these labels are the ones of ``meta/train.txt``."""
    from mmpretrain.datasets import ImageNet
    data_root = root / 'imagenet'
    scanned = _build('mmpretrain', ImageNet, dict(data_root=str(data_root), data_prefix='train',
                                                  metainfo=dict(classes=CLASSES)))
    by_folder = {Path(scanned.get_data_info(i)['img_path']).name:
                 scanned.get_data_info(i)['gt_label'] for i in range(len(scanned))}
    lines = (data_root / 'meta' / 'train.txt').read_text().splitlines()
    assert by_folder == {Path(f).name: int(label) for f, label in map(str.split, lines)}


def test_same_seed_gives_identical_files(root, tmp_path):
    make_tiny_datasets(tmp_path)
    files = sorted(p.relative_to(root) for p in root.rglob('*') if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob('*') if p.is_file())
    assert all((root / f).read_bytes() == (tmp_path / f).read_bytes() for f in files)
    make_coco(tmp_path / 'other', seed=1)
    assert _coco_json(tmp_path / 'other', 'train') != _coco_json(root, 'train')


def test_generation_is_idempotent(tmp_path):
    small = dict(num_train=3, num_val=2)
    first = make_coco(tmp_path, **small)
    stamp = (first.path / MARKER).stat().st_mtime_ns
    again = make_coco(tmp_path, **small)
    assert not first.skipped and again.skipped and again.counts == first.counts
    assert (first.path / MARKER).stat().st_mtime_ns == stamp
    assert not make_coco(tmp_path, **small, force=True).skipped
    changed = make_coco(tmp_path, **small, seed=1)
    assert not changed.skipped
    marker = json.loads((tmp_path / 'coco' / MARKER).read_text())
    assert marker['params']['seed'] == 1 and marker['counts'] == changed.counts
    assert [p.name for p in tmp_path.iterdir()] == ['coco']  # no temporary folders left
    (tmp_path / 'coco' / MARKER).unlink()  # e.g. somebody's real COCO
    with pytest.raises(FileExistsError):
        make_coco(tmp_path, **small, force=True)
    assert len(list((tmp_path / 'coco' / 'train2017').iterdir())) == 3


def test_interrupted_generation_keeps_the_previous_dataset(tmp_path, monkeypatch):
    make_coco(tmp_path, num_train=3, num_val=2)
    saved = []

    def failing_save(path, image):
        if len(saved) == 2:
            raise KeyboardInterrupt
        saved.append(path)

    monkeypatch.setattr(tiny, '_save_jpeg', failing_save)
    with pytest.raises(KeyboardInterrupt):
        make_coco(tmp_path, num_train=3, num_val=2, seed=1)
    assert [p.name for p in tmp_path.iterdir()] == ['coco']
    marker = json.loads((tmp_path / 'coco' / MARKER).read_text())
    assert marker['params']['seed'] == 0
    assert len(list((tmp_path / 'coco' / 'train2017').iterdir())) == 3


def test_cli(tmp_path, monkeypatch, capsys):
    argv = ['make_tiny_datasets.py', '--root', str(tmp_path), '--which', 'imagenet']
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(str(REPO / 'tools' / 'make_tiny_datasets.py'), run_name='__main__')
    assert '1 written, 0 up to date' in capsys.readouterr().out
    runpy.run_path(str(REPO / 'tools' / 'make_tiny_datasets.py'), run_name='__main__')
    out = capsys.readouterr().out
    assert '0 written, 1 up to date' in out and 'imagenet: up to date' in out
    assert sorted(p.name for p in (tmp_path / 'imagenet').iterdir()) == [
        MARKER, 'meta', 'train', 'val']
