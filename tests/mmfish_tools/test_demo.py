"""``make demo`` (tools/demo.py) without its training: one light twin per toolbox, derived from
a full tiny twin; each dataset reported once; progress lines that name each head's metric; the
table and the PNG of the loss curves it points to; the picture of the trained twins' predictions
on held-out images beside their ground truth. (tests/test_e2e_mim.py runs the demo twins
through ``mim``; tests/mmfish_tools/test_seg_twin_discriminates.py trains the segmentation one.)"""
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmfish_tools import demo_predictions, tiny_twins
from mmfish_tools.mim_runs import _compact
from mmfish_tools.tiny_twins import DEMO_TWINS, TWINS, plot_losses, results_table

from tests.conftest import REPO


def test_one_demo_twin_per_toolbox_each_a_lighter_full_twin():
    from mmengine.config import Config
    assert [t.toolbox for t in DEMO_TWINS] == ['mmpretrain', 'mmdet', 'mmseg', 'mmpose']
    for twin in DEMO_TWINS:
        text = (REPO / twin.config).read_text()
        base = text.split("_base_ = '../", 1)[1].split("'", 1)[0]
        full = next(t for t in TWINS if t.config == f'configs/tiny/{base}')
        assert full.toolbox == twin.toolbox and full.chance == twin.chance
        ours, theirs = Config.fromfile(str(REPO / twin.config)), Config.fromfile(
            str(REPO / full.config))
        assert ours.model.type == theirs.model.type
        assert ours.model.backbone.type == theirs.model.backbone.type == 'mmfish.ResNeSt'
        assert ours.model.backbone.depth == theirs.model.backbone.depth
        assert ours.model.backbone.base_channels == 16  # a quarter of the full width
        # lighter, so fewer iterations, but where the light model needs more to learn
        assert (ours.train_cfg.max_iters < theirs.train_cfg.max_iters
                or twin.toolbox in ('mmseg', 'mmpose'))


def test_progress_lines_name_each_head():
    line = ('11/27 17:01:06 - mmengine - INFO - Iter(train) [ 5/20]  lr: 9.7605e-03  eta: 0:00:36'
            '  time: 2.4558  data_time: 0.0306  loss: 1.6717  decode.loss_ce: 1.1574  '
            'decode.acc_seg: 79.9398  aux.loss_ce: 0.5142  aux.acc_seg: 79.7526')
    assert _compact(line) == ('train [5/20]  eta:0:00:36  loss:1.6717  decode.acc_seg:79.9398  '
                              'aux.acc_seg:79.7526')
    val = ('11/27 17:02:31 - mmengine - INFO - Iter(val) [16/16]    aAcc: 82.0000  mIoU: 20.5000'
           '  mAcc: 25.0000  data_time: 0.0033  time: 0.8818')
    assert _compact(val) == '  val [16/16]  aAcc:82.0000  mIoU:20.5000  mAcc:25.0000'
    pose = ('11/27 20:01:06 - mmengine - INFO - Iter(val) [2/2]    coco/AP: 0.371287  '
            'coco/AP .5: 0.802021  coco/AP .75: 0.286139  coco/AP (M): -1.000000  '
            'coco/AR: 0.435000  coco/AR .5: 0.825000  data_time: 0.0120  time: 0.3000')
    assert _compact(pose) == '  val [2/2]  coco/AP:0.371287  coco/AR:0.435000'


def _fake_rows(work_root: Path):
    rows = []
    for i, twin in enumerate(DEMO_TWINS):
        rows.append(dict(twin=twin.name, work_dir=str(work_root / twin.name),
                         checkpoint=str(work_root / twin.name / 'iter_9.pth'),
                         losses=[2.0 - i / 10, 1.0, 0.5], loss_iters=[3, 6, 9], iters=9,
                         metrics={k: 50.0 for k in twin.metrics},
                         train_seconds=1.0, test_seconds=1.0))
    return rows


def test_table_and_loss_curves(tmp_path):
    rows = _fake_rows(tmp_path)
    table = results_table(rows)
    assert 'mIoU 50.000 (20.9), aAcc 50.000 (83.8)' in table and '2.000 -> 0.500' in table
    path = plot_losses(rows, str(tmp_path / 'curves' / 'demo_losses.png'))
    with Image.open(path) as image:
        assert image.format == 'PNG' and image.width > image.height > 100


@pytest.mark.parametrize('jobs', [1, 2])
def test_demo_script(tmp_path, monkeypatch, capsys, jobs):
    """The script, with each twin's mim runs replaced: datasets reported once each, then
    every twin (side by side with ``--jobs 2``, each line prefixed with its toolbox), the
    table in the twins' order, and the PNG it names."""
    rows = {r['twin']: r for r in _fake_rows(tmp_path / 'work')}
    calls = []

    def fake_run_twin(twin, work_root, root=None, log=print, env=None):
        assert env == dict(OMP_NUM_THREADS='1')
        calls.append(twin.toolbox)
        log('train [9/9]  loss:0.5')
        return rows[twin.name]

    def fake_picture(rows, out, data_root, root):
        assert [r['twin'] for r in rows] == [t.name for t in DEMO_TWINS]
        assert data_root == str(tmp_path / 'data') and root == REPO
        Image.new('RGB', (8, 8)).save(out)
        return str(out)

    monkeypatch.setattr(tiny_twins, 'run_twin', fake_run_twin)
    monkeypatch.setattr(demo_predictions, 'predictions_picture', fake_picture)
    monkeypatch.setattr(sys, 'argv', ['demo.py', '--work-dir', str(tmp_path / 'work'),
                                      '--data-root', str(tmp_path / 'data'), '--threads', '1',
                                      '--jobs', str(jobs)])
    with pytest.raises(SystemExit) as exit_code:
        runpy.run_path(str(REPO / 'tools' / 'demo.py'), run_name='__main__')
    assert exit_code.value.code == 0
    out = capsys.readouterr().out
    assert sorted(calls) == sorted(t.toolbox for t in DEMO_TWINS)
    # the datasets the demo twins read, each written once
    from mmengine.config import Config
    demo = runpy.run_path(str(REPO / 'tools' / 'demo.py'))
    for twin in DEMO_TWINS:
        root = Config.fromfile(str(REPO / twin.config)).train_dataloader.dataset.data_root
        assert Path(root).parts[:2] == ('data', 'tiny') and Path(root).parts[2] in demo[
            'DATASETS']
    for name in demo['DATASETS']:
        assert out.count(f'{name}: written in') == 1
    png = tmp_path / 'work' / 'demo_losses.png'
    assert png.exists() and f'Loss curves: {png}' in out
    assert f'== {jobs} run(s) at a time, 1 CPU thread(s) each' in out
    table = [line for line in out.splitlines() if line.startswith('| mm')]
    assert [line.split(' | ')[1] for line in table] == [t.name for t in DEMO_TWINS]
    progress = '  mmpose    | train [9/9]' if jobs == 2 else '  train [9/9]'
    assert progress in out
    picture = tmp_path / 'work' / 'demo_predictions.png'
    assert picture.exists() and out.rstrip().endswith(f'): {picture}')


def test_predictions_picture(demo_runs, tmp_path):
    """The picture of the trained demo twins: a row per toolbox, each pair a held-out image's
    ground truth beside the prediction drawn by the toolbox's inferencer, which differ."""
    from mmfish_tools.demo_predictions import CELL, cell_box, predictions_picture
    results = [demo_runs['results'][t.toolbox] for t in DEMO_TWINS]
    path = predictions_picture(results, tmp_path / 'demo_predictions.png',
                               data_root=str(demo_runs['root'] / 'data' / 'tiny'), count=2,
                               root=REPO)
    with Image.open(path) as image:
        assert image.format == 'PNG' and image.height >= len(DEMO_TWINS) * CELL
        pixels = np.asarray(image.convert('RGB'), dtype=np.int16)
    for row in range(len(DEMO_TWINS)):
        for pair in range(2):
            (l1, t1, r1, b1), (l2, t2, r2, b2) = (cell_box(row, pair, False),
                                                  cell_box(row, pair, True))
            truth, predicted = pixels[t1:b1, l1:r1], pixels[t2:b2, l2:r2]
            assert truth.std() > 10 and predicted.std() > 10  # pictures, not blanks
            assert np.abs(truth - predicted).mean() > 1, (row, pair)


def test_kept_results_are_merged_stamped_and_tabulated(tmp_path):
    """tools/run_tiny_twins.py keeps every twin's last result: a new run replaces only its
    twins' rows, each row says where and when it was measured, and an untrained score shows
    beside chance."""
    from mmfish_tools.tiny_twins import merge_results
    path = tmp_path / 'docs' / 'tiny_twins.json'
    first, second = TWINS[0], TWINS[-1]
    row = dict(twin=second.name, iters=9, losses=[2.0, 1.0], train_seconds=1, test_seconds=1,
               metrics={k: 0.5 for k in second.metrics},
               untrained={k: 0.01 for k in second.metrics})
    old = dict(row, twin=first.name, metrics={k: 50.0 for k in first.metrics}, untrained=None)
    merge_results(str(path), [row], dict(date='2026-01-01', isa='AVX2', cores=2))
    merge_results(str(path), [old], dict(date='2026-01-02', isa='AVX512', cores=2))
    rows = merge_results(str(path), [dict(row, iters=10)],
                         dict(date='2026-01-03', isa='AVX2', cores=2))
    assert [r['twin'] for r in rows] == [first.name, second.name]  # TWINS order, one each
    assert rows[1]['iters'] == 10 and rows[0]['measured']['isa'] == 'AVX512'
    table = results_table(rows)
    assert '| 2026-01-02, AVX512, 2 cores |' in table and '| 2026-01-03, AVX2, 2 cores |' in table
    metric = second.metrics[0]
    assert f'{metric} 0.500 ({second.chance[metric]:.3g}; untrained 0.010)' in table
