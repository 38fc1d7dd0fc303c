"""The tiny COCO panoptic dataset of ``mmfish_tools.tiny_panoptic``: the files are in COCO's
panoptic format (json schema, segment PNGs whose ids are exactly the listed segments), mmdet's
CocoPanopticDataset reads them with its own LoadPanopticAnnotations, and its
CocoPanopticMetric scores the ground truth PQ 100 and wrong predictions lower."""
import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from mmfish_tools.tiny_data import MARKER
from mmfish_tools.tiny_panoptic import (
    NAME,
    STUFF,
    STUFF_FIRST_ID,
    THINGS,
    categories,
    constant_stuff_scores,
    dataset_kwargs,
    ground_truth_prediction,
    id2rgb,
    read_segments,
    rgb2id,
    score_panoptic,
    write_tiny_coco_panoptic,
)

# pycocotools with numpy 2, outside mmfish
pytestmark = pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')

SIZES = dict(train=48, val=16)
SIZE = 96
CLASSES = (*THINGS, *STUFF)


@pytest.fixture(scope='module')
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('tiny')
    write_tiny_coco_panoptic(root)
    return root


def _json(root: Path, split: str) -> dict:
    return json.loads((root / NAME / 'annotations' / f'panoptic_{split}2017.json').read_text())


def test_id_colour_encoding():
    """A segment id is ``R + 256 G + 256^2 B``, as panopticapi's ``rgb2id`` decodes it."""
    from panopticapi.utils import id2rgb as api_id2rgb
    from panopticapi.utils import rgb2id as api_rgb2id
    ids = np.array([[0, 1, 255, 256], [65535, 65536, 8345037, 256 ** 3 - 1]])
    assert np.array_equal(rgb2id(id2rgb(ids)), ids)
    assert np.array_equal(id2rgb(ids), api_id2rgb(ids))
    assert np.array_equal(api_rgb2id(id2rgb(ids)), ids)
    assert id2rgb(np.array([8345037])).tolist() == [[205, 85, 127]]  # 205 + 256 * 85 + 65536 * 127
    with pytest.raises(ValueError):
        id2rgb(np.array([256 ** 3]))


@pytest.mark.parametrize('split', ['train', 'val'])
def test_json_schema(root, split):
    data = _json(root, split)
    assert set(data) == {'info', 'licenses', 'images', 'annotations', 'categories'}
    assert data['categories'] == categories()
    assert [c['isthing'] for c in data['categories']] == [1] * len(THINGS) + [0] * len(STUFF)
    assert [c['name'] for c in data['categories']] == list(CLASSES)
    category_ids = {c['id'] for c in data['categories']}
    assert len(data['images']) == len(data['annotations']) == SIZES[split]
    for image, ann in zip(data['images'], data['annotations']):
        assert set(image) == {'id', 'file_name', 'width', 'height'}
        assert (image['width'], image['height']) == (SIZE, SIZE)
        assert set(ann) == {'image_id', 'file_name', 'segments_info'}
        assert ann['image_id'] == image['id']
        assert ann['file_name'] == image['file_name'].replace('.jpg', '.png')
        assert (root / NAME / f'{split}2017' / image['file_name']).is_file()
        assert (root / NAME / 'annotations' / f'panoptic_{split}2017' / ann['file_name']).is_file()
        things = [s for s in ann['segments_info'] if s['category_id'] < STUFF_FIRST_ID]
        assert 1 <= len(things) <= 3 and len(ann['segments_info']) - len(things) in (1, 2)
        for segment in ann['segments_info']:
            assert set(segment) == {'id', 'category_id', 'area', 'bbox', 'iscrowd'}
            assert segment['category_id'] in category_ids and segment['iscrowd'] == 0
            assert all(isinstance(v, int) for v in (segment['id'], segment['area'],
                                                    *segment['bbox']))


@pytest.mark.parametrize('split', ['train', 'val'])
def test_png_ids_are_exactly_the_listed_segments(root, split):
    for record in read_segments(root, split):
        png = np.asarray(Image.open(root / NAME / 'annotations' / f'panoptic_{split}2017'
                                    / f"{record['image']['file_name'][:-4]}.png"))
        assert png.dtype == np.uint8 and png.shape == (SIZE, SIZE, 3)
        ids = record['ids']
        listed = {s['id']: s for s in record['segments_info']}
        assert len(listed) == len(record['segments_info'])  # unique in the image
        assert set(np.unique(ids).tolist()) == set(listed)  # no void, nothing unlisted
        for segment_id, segment in listed.items():
            rows, cols = np.nonzero(ids == segment_id)
            assert segment['area'] == len(rows)
            assert segment['bbox'] == [cols.min(), rows.min(), cols.max() - cols.min() + 1,
                                       rows.max() - rows.min() + 1]


@pytest.mark.parametrize('split', ['train', 'val'])
def test_read_by_mmdet_with_its_panoptic_pipeline(root, split):
    """CocoPanopticDataset with LoadPanopticAnnotations (panopticapi's rgb2id): a box and a
    mask per thing, the semantic map labels things 0-2 and stuff 3-5, nothing ignored."""
    from mmdet.datasets import CocoPanopticDataset
    kwargs = {k: v for k, v in dataset_kwargs(split, root).items() if k != 'type'}
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations')]
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = CocoPanopticDataset(**kwargs, pipeline=pipeline)
    assert len(dataset) == SIZES[split]
    assert dataset.metainfo['classes'] == CLASSES
    records = {r['image']['id']: r for r in read_segments(root, split)}
    seen = set()
    for i in range(len(dataset)):
        results = dataset[i]
        record = records[results['img_id']]
        pan = ground_truth_prediction(record)
        things = [s for s in record['segments_info'] if s['category_id'] < STUFF_FIRST_ID]
        assert results['img'].shape == (SIZE, SIZE, 3)
        assert len(results['gt_bboxes']) == len(results['gt_masks']) == len(things)
        assert results['gt_bboxes_labels'].tolist() == [s['category_id'] - 1 for s in things]
        for box, mask, thing in zip(results['gt_bboxes'].numpy(),
                                    results['gt_masks'].to_ndarray(), things):
            assert np.array_equal(mask.astype(bool), record['ids'] == thing['id'])
            x, y, w, h = thing['bbox']
            assert box.tolist() == [x, y, x + w, y + h]
        assert np.array_equal(results['gt_seg_map'], pan % 1000)
        seen |= set(np.unique(results['gt_seg_map']).tolist())
    assert seen == set(range(len(CLASSES)))


def test_metric_scores_the_ground_truth_100_and_wrong_predictions_lower(root):
    perfect = score_panoptic(root, ground_truth_prediction)
    for name in ('PQ', 'SQ', 'RQ', 'PQ_th', 'PQ_st'):
        assert perfect[name] == pytest.approx(100.0)

    def wrong_things(record):  # every thing named as the next thing class
        pan = ground_truth_prediction(record)
        label = pan % 1000
        return np.where(label < len(THINGS), pan - label + (label + 1) % len(THINGS), pan)

    swapped = score_panoptic(root, wrong_things)
    assert swapped['PQ_th'] == pytest.approx(0.0)
    assert swapped['PQ_st'] == pytest.approx(100.0)
    assert swapped['PQ'] == pytest.approx(100.0 * len(STUFF) / len(CLASSES))

    def no_things(record):  # the things' pixels left void
        pan = ground_truth_prediction(record)
        return np.where(pan % 1000 < len(THINGS), len(CLASSES), pan)

    voided = score_panoptic(root, no_things)
    assert voided['PQ_th'] == pytest.approx(0.0) and voided['PQ_st'] == pytest.approx(100.0)


def test_chance_level(root):
    """The most frequent stuff class everywhere: far below a perfect prediction."""
    chance = constant_stuff_scores(root)
    assert chance['coco_panoptic/PQ_th'] == 0.0
    assert 0 < chance['coco_panoptic/PQ'] < 10
    # the module's docstring
    assert chance['coco_panoptic/PQ'] == pytest.approx(1.34, abs=0.005)
    assert chance['coco_panoptic/PQ_st'] == pytest.approx(2.68, abs=0.005)


def test_counts_and_balance(root):
    counts = json.loads((root / NAME / MARKER).read_text())['counts']
    for split, n in SIZES.items():
        assert counts[split]['images'] == n
        per_class = counts[split]['per_class']
        assert max(per_class) - min(per_class) <= 1  # thing classes in balanced rounds
        assert min(counts[split]['stuff_segments']) > 0
        assert sum(counts[split]['pixels']) == n * SIZE * SIZE


def _thing_colours(root: Path):
    """Mean RGB inside every thing (shrunk by a pixel: JPEG blurs the outline) and its label."""
    import cv2
    colours, labels = [], []
    for split in SIZES:
        for record in read_segments(root, split):
            rgb = np.asarray(Image.open(root / NAME / f'{split}2017'
                                        / record['image']['file_name']))
            for segment in record['segments_info']:
                if segment['category_id'] < STUFF_FIRST_ID:
                    inner = cv2.erode((record['ids'] == segment['id']).astype(np.uint8),
                                      np.ones((3, 3)))
                    colours.append(rgb[inner.astype(bool)].mean(axis=0))
                    labels.append(segment['category_id'] - 1)
    return np.array(colours), np.array(labels)


def test_colour_does_not_give_the_thing_class_away(root):
    """A nearest-class-mean guess of a thing's class from its mean colour (leave one out) is
    about chance (1/3)."""
    colours, labels = _thing_colours(root)
    assert len(labels) > 100
    hits = 0
    for i in range(len(labels)):
        keep = np.arange(len(labels)) != i
        means = [colours[keep & (labels == k)].mean(axis=0) for k in range(len(THINGS))]
        hits += int(np.argmin([np.abs(colours[i] - m).sum() for m in means]) == labels[i])
    assert hits / len(labels) < 0.5


def test_same_seed_same_files_and_skip(root, tmp_path):
    again = write_tiny_coco_panoptic(root)
    assert again.skipped
    write_tiny_coco_panoptic(tmp_path)
    files = sorted(p.relative_to(root / NAME) for p in (root / NAME).rglob('*') if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / NAME)
                           for p in (tmp_path / NAME).rglob('*') if p.is_file())
    assert all((root / NAME / f).read_bytes() == (tmp_path / NAME / f).read_bytes()
               for f in files)
    other = write_tiny_coco_panoptic(tmp_path / 'other', seed=1, num_train=2, num_val=2)
    assert not other.skipped and _json(tmp_path / 'other', 'val') != _json(root, 'val')
