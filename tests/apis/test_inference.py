"""mmfish.apis and tools/infer.py: the toolboxes' own inferencers with the trained demo twins
(the ``demo_runs`` fixture: ``make demo``'s training, once per session) on the held-out (val)
images of the tiny datasets, checked against the ground truth of their annotation files; and
the errors for a config of another toolbox, a missing checkpoint and an unreadable image."""
import re
import runpy
import sys

import numpy as np
import pytest
from PIL import Image

from mmfish.apis import infer, toolbox_of
from mmfish_tools.demo_predictions import held_out
from mmfish_tools.tiny_twins import DEMO_TWINS

from tests.conftest import REPO

TWIN = {t.toolbox: t for t in DEMO_TWINS}
#: the score from which a predicted box counts
SCORE_THR = 0.3


def _config(toolbox: str) -> str:
    return str(REPO / TWIN[toolbox].config)


def _run(demo_runs, toolbox: str, out_dir, count=None, **kwargs):
    """The held-out samples of ``toolbox`` (the first ``count``) and the inference on them."""
    samples = held_out(toolbox, demo_runs['root'] / 'data' / 'tiny')[:count]
    out = infer(_config(toolbox), demo_runs['results'][toolbox]['checkpoint'],
                [s['image'] for s in samples], out_dir=str(out_dir), toolbox=toolbox, **kwargs)
    assert len(out['predictions']) == len(out['pictures']) == len(samples)
    return samples, out


def _check_pictures(samples, pictures, out_dir, drawn_on=None):
    """Each picture is in <out_dir>/vis/, of its image's size, and drawn on (those of
    ``drawn_on``, default all): many of its pixels differ strongly from the image's (not only
    by JPEG re-encoding)."""
    drawn_on = [True] * len(samples) if drawn_on is None else drawn_on
    for sample, picture, check in zip(samples, pictures, drawn_on):
        assert picture.startswith(str(out_dir / 'vis'))
        with Image.open(sample['image']) as image, Image.open(picture) as drawn:
            assert drawn.size == image.size
            diff = np.abs(np.asarray(drawn.convert('RGB'), dtype=np.int16)
                          - np.asarray(image.convert('RGB'), dtype=np.int16)).max(axis=2)
        assert not check or (diff > 60).mean() > 0.005, picture


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N x 4, x1 y1 x2 y2) with every box of ``b`` (M x 4)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area = lambda x: (x[:, 2:] - x[:, :2]).prod(axis=1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None] - inter)


def test_classifier_names_the_held_out_classes(demo_runs, tmp_path):
    """Every held-out image classified, and right as often as ``mim test`` reported."""
    samples, out = _run(demo_runs, 'mmpretrain', tmp_path)
    correct = [p['pred_label'] == s['label'] for s, p in zip(samples, out['predictions'])]
    top1 = demo_runs['results']['mmpretrain']['metrics']['accuracy/top1']
    assert 100 * np.mean(correct) == pytest.approx(top1, abs=1e-6)
    assert top1 > TWIN['mmpretrain'].chance['accuracy/top1']
    classes = ('circle', 'square', 'triangle')
    assert all(p['pred_class'] == classes[p['pred_label']] for p in out['predictions'])
    _check_pictures(samples, out['pictures'], tmp_path)


def test_detector_finds_held_out_shapes(demo_runs, tmp_path):
    """Some box above the threshold overlaps a ground-truth box of its class (IoU > 0.5)."""
    samples, out = _run(demo_runs, 'mmdet', tmp_path, pred_score_thr=SCORE_THR)
    found, drawn_on = 0, []
    for sample, pred in zip(samples, out['predictions']):
        boxes = np.array(pred['bboxes'], dtype=np.float32).reshape(-1, 4)
        keep = np.array(pred['scores']) > SCORE_THR
        drawn_on.append(bool(keep.any()))  # the inferencer draws the boxes above it only
        if keep.any():
            iou = _iou(boxes[keep], sample['bboxes'])
            same = np.array(pred['labels'])[keep][:, None] == sample['labels'][None]
            found += int(((iou > 0.5) & same).any())
    assert found >= 1
    for pred in out['predictions']:  # Mask R-CNN's masks, one COCO RLE per box
        assert len(pred['masks']) == len(pred['bboxes'])
        assert all(set(mask) == {'size', 'counts'} for mask in pred['masks'])
    _check_pictures(samples, out['pictures'], tmp_path, drawn_on)


def test_segmenter_labels_held_out_shapes(demo_runs, tmp_path):
    """The label maps hold shapes, not only the background, and agree with the ground truth
    better than chance: their mIoU over the held-out images beats the majority label's."""
    samples, out = _run(demo_runs, 'mmseg', tmp_path)
    inter, union = np.zeros(4), np.zeros(4)
    for sample, pred in zip(samples, out['predictions']):
        gt = sample['seg_map']
        assert pred.shape == gt.shape
        for label in range(4):
            inter[label] += np.sum((pred == label) & (gt == label))
            union[label] += np.sum((pred == label) | (gt == label))
    assert len(np.unique(np.concatenate([p.ravel() for p in out['predictions']]))) > 1
    miou = 100 * np.mean(inter / union)
    assert miou > TWIN['mmseg'].chance['mIoU']
    _check_pictures(samples, out['pictures'], tmp_path)


def test_pose_model_gives_17_keypoints_per_person(demo_runs, tmp_path):
    """Without a person detector, mmpose takes the whole image as the person's box: one
    person per image, of 17 keypoints, each with a score, inside the image."""
    samples, out = _run(demo_runs, 'mmpose', tmp_path)
    for sample, persons in zip(samples, out['predictions']):
        with Image.open(sample['image']) as image:
            width, height = image.size
        assert len(persons) == 1
        for person in persons:
            keypoints = np.array(person['keypoints'])
            assert keypoints.shape == (17, 2) and len(person['keypoint_scores']) == 17
            assert np.allclose(np.array(person['bbox']).ravel(), [0, 0, width, height])
            assert ((keypoints >= -1) & (keypoints <= [width + 1, height + 1])).all()
    _check_pictures(samples, out['pictures'], tmp_path)


def test_arrays_are_inputs_too(demo_runs, tmp_path):
    """A BGR uint8 array is classified as its file is; its picture is named after its index."""
    samples = held_out('mmpretrain', demo_runs['root'] / 'data' / 'tiny')[:2]
    import mmcv
    arrays = [mmcv.imread(s['image']) for s in samples]
    checkpoint = demo_runs['results']['mmpretrain']['checkpoint']
    by_array = infer(_config('mmpretrain'), checkpoint, arrays, out_dir=str(tmp_path))
    by_file = infer(_config('mmpretrain'), checkpoint, [s['image'] for s in samples])
    for a, f in zip(by_array['predictions'], by_file['predictions']):
        assert a['pred_label'] == f['pred_label']
        assert a['pred_score'] == pytest.approx(f['pred_score'], abs=1e-5)
    assert [p.rsplit('/', 1)[1] for p in by_array['pictures']] == ['array_0000.png',
                                                                   'array_0001.png']
    assert by_file['pictures'] == [None, None]


def test_toolbox_of_each_demo_config():
    assert [toolbox_of(_config(t)) for t in TWIN] == list(TWIN)


def test_config_of_another_toolbox_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r'is a config of mmdet, not of mmseg'):
        infer(_config('mmdet'), str(tmp_path / 'x.pth'), [np.zeros((8, 8, 3), np.uint8)],
              toolbox='mmseg')
    plain = tmp_path / 'plain.py'
    plain.write_text('model = dict(type="X")\n')
    with pytest.raises(ValueError, match='no default_scope.*mmpretrain, mmdet, mmseg, mmpose'):
        toolbox_of(str(plain))
    other = tmp_path / 'ocr.py'
    other.write_text('default_scope = "mmocr"\n')
    with pytest.raises(ValueError, match="'mmocr'.*mmpretrain, mmdet, mmseg, mmpose"):
        toolbox_of(str(other))


def test_missing_checkpoint_is_named(tmp_path):
    missing = tmp_path / 'iter_9.pth'
    with pytest.raises(FileNotFoundError, match=re.escape(f'checkpoint {missing}: no such file') + '.*mmfish://'):
        infer(_config('mmpretrain'), str(missing), [np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(ValueError, match="unknown model 'no-such-model'.*valid names"):
        infer(_config('mmpretrain'), 'mmfish://no-such-model', [np.zeros((8, 8, 3), np.uint8)])


def test_unreadable_image_is_named(tmp_path):
    text = tmp_path / 'notes.jpg'
    text.write_text('not an image')
    checkpoint = tmp_path / 'unused.pth'  # the inputs are checked first
    with pytest.raises(ValueError, match=re.escape(f'input 1: {text} is not a readable image')):
        infer(_config('mmdet'), str(checkpoint), [np.zeros((8, 8, 3), np.uint8), str(text)])
    with pytest.raises(FileNotFoundError, match='input 0: .*gone.png: no such image file'):
        infer(_config('mmdet'), str(checkpoint), [str(tmp_path / 'gone.png')])
    with pytest.raises(ValueError, match=r'shape \(8, 8\) and dtype float64; an image array is '
                       'HxWx3, uint8'):
        infer(_config('mmdet'), str(checkpoint), [np.zeros((8, 8))])


def test_infer_script(demo_runs, tmp_path, monkeypatch, capsys):
    """tools/infer.py prints one line per image (the detector's boxes above the threshold and
    their classes) and where its picture went; an error is one line, exit code 2."""
    samples = held_out('mmdet', demo_runs['root'] / 'data' / 'tiny')[:2]
    checkpoint = demo_runs['results']['mmdet']['checkpoint']
    argv = ['infer.py', _config('mmdet'), checkpoint, *[s['image'] for s in samples], '--out',
            str(tmp_path / 'out'), '--show-score-thr', str(SCORE_THR)]
    monkeypatch.setattr(sys, 'argv', argv)
    with pytest.raises(SystemExit) as exit_code:
        runpy.run_path(str(REPO / 'tools' / 'infer.py'), run_name='__main__')
    assert exit_code.value.code == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if ' -> ' in line]
    assert len(lines) == len(samples)
    for line, sample in zip(lines, samples):
        picture = tmp_path / 'out' / 'vis' / sample['image'].rsplit('/', 1)[1]
        assert line.startswith(f'{sample["image"]}: ') and line.endswith(f' -> {picture}')
        assert f'boxes of score >= {SCORE_THR:g}' in line and picture.exists()
    monkeypatch.setattr(sys, 'argv', argv[:2] + [str(tmp_path / 'none.pth')] + argv[3:])
    with pytest.raises(SystemExit) as exit_code:
        runpy.run_path(str(REPO / 'tools' / 'infer.py'), run_name='__main__')
    assert exit_code.value.code == 2
    assert f'error: checkpoint {tmp_path / "none.pth"}: no such file' in capsys.readouterr().err


def test_smallest_and_most_elongated_images_run(demo_runs, tmp_path):
    """The bounds' edges (mmfish.apis.images): 2x2, 2x64 and 64x2 arrays are predicted and
    drawn by each toolbox's inferencer, each picture of its input's size; 1x1 (an IndexError
    in MMSegmentation's visualizer) is refused before the model is built."""
    arrays = [np.full((h, w, 3), 120, np.uint8) for h, w in [(2, 2), (2, 64), (64, 2)]]
    for toolbox in TWIN:
        out = infer(_config(toolbox), demo_runs['results'][toolbox]['checkpoint'], arrays,
                    out_dir=str(tmp_path / toolbox))
        for array, picture in zip(arrays, out['pictures']):
            with Image.open(picture) as drawn:
                assert drawn.size == (array.shape[1], array.shape[0]), (toolbox, picture)
    with pytest.raises(ValueError, match=r'input 0: an array is 1x1 pixels .* too small'):
        infer(_config('mmseg'), demo_runs['results']['mmseg']['checkpoint'],
              [np.zeros((1, 1, 3), np.uint8)])


def test_inputs_of_one_name_get_one_picture_each(demo_runs, tmp_path):
    """Two held-out images copied under one name into two folders: two predictions, two
    pictures (the index appended to the shared name), each drawn from its own image."""
    import shutil
    samples = held_out('mmdet', demo_runs['root'] / 'data' / 'tiny')[:2]
    images = []
    for folder, sample in zip('xy', samples):
        (tmp_path / folder).mkdir()
        images.append(str(tmp_path / folder / 'image.jpg'))
        shutil.copy(sample['image'], images[-1])
    out = infer(_config('mmdet'), demo_runs['results']['mmdet']['checkpoint'], images,
                out_dir=str(tmp_path / 'out'))
    vis = tmp_path / 'out' / 'vis'
    assert out['pictures'] == [str(vis / 'image_0000.jpg'), str(vis / 'image_0001.jpg')]
    renamed = [dict(s, image=i) for s, i in zip(samples, images)]
    _check_pictures(renamed, out['pictures'], tmp_path / 'out', drawn_on=[False, False])
    drawn = [np.asarray(Image.open(p).convert('L'), dtype=np.int16) for p in out['pictures']]
    originals = [np.asarray(Image.open(i).convert('L'), dtype=np.int16) for i in images]
    for d, own, other in zip(drawn, originals, originals[::-1]):
        assert np.abs(d - own).mean() < np.abs(d - other).mean()
