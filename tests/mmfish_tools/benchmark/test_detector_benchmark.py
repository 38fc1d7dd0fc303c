"""``tools/benchmark.py --detector CONFIG --also onnx``: the rows of mmdet's predict and of the
exported graph in onnxruntime are produced and reported (their figures are not checked)."""
import json
import sys
from pathlib import Path

import pytest

from mmfish_tools.benchmark.core import Row, machine
from mmfish_tools.benchmark.detector import ONNX, PREDICT, detector_markdown

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / 'tools'))
import benchmark as tool  # noqa: E402

DEMO = str(ROOT / 'configs' / 'tiny' / 'demo' / 'mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco.py')
CLASSIFIER = str(ROOT / 'configs' / 'tiny' / 'demo' / 'resnest50-w16_1xb16-60i_tiny-imagenet.py')


def test_detector_table_and_refusals(capsys):
    """The table: milliseconds per image, the interquartile range, the speed-up over
    predict and the check's error; what does not go with ``--detector`` is refused."""
    settings = dict(detector=DEMO, size=64, repeats=4, warmup=0, machine=machine())
    rows = [Row('demo', PREDICT, eval_s=[0.04, 0.05, 0.04, 0.06]),
            Row('demo', ONNX, eval_s=[0.02, 0.02, 0.03, 0.02], max_rel_err=3e-7)]
    text = detector_markdown(rows, settings)
    assert '| demo | mmdet predict | 45.0 | 40.0-57.5 |  |  |' in text
    assert '| demo | mmfish ONNX Runtime | 20.0 | 20.0-27.5 | 2.25x | 3.0e-07 |' in text
    for argv in (['--detector', DEMO], ['--detector', DEMO, '--also', 'onnx', 'nchw'],
                 ['--checkpoint', 'x.pth', '--also', 'onnx']):
        assert tool.main(argv) == 2
        assert 'error: --detector CONFIG times' in capsys.readouterr().err
    assert tool.main(['--detector', DEMO, '--also', 'onnx', '--amp', 'bf16']) == 2
    assert 'runs on the CPU in float32' in capsys.readouterr().err
    assert tool.main(['--detector', CLASSIFIER, '--also', 'onnx']) == 2
    assert 'is a classifier, not a detector' in capsys.readouterr().err


@pytest.mark.slow
def test_detector_rows_are_produced(tmp_path, capsys):
    """The demo twin (initial weights) exported, checked and timed beside predict."""
    out = tmp_path / 'run.json'
    assert tool.main(['--detector', DEMO, '--also', 'onnx', '--size', '96', '--repeats', '2',
                      '--warmup', '0', '--json', str(out)]) == 0
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data['settings']['detector'] == DEMO and data['settings']['batch'] == 1
    predict, ort_row = (Row(**r) for r in data['rows'])
    assert (predict.impl, ort_row.impl) == (PREDICT, ONNX)
    assert len(predict.eval_s) == len(ort_row.eval_s) == 2 and ort_row.max_rel_err < 1e-4
    assert predict.params > 0 and ort_row.train_s == []
    assert '| mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco | mmfish ONNX Runtime |' in text
