"""The inferencers of the four toolboxes get exactly the checkpoint's weights, or none: a
checkpoint whose tensors are not the model's (missing, unexpected, of another shape) is
refused with the keys named, through a file or a URL (the issue's case: a classifier config
with the Mask R-CNN twin's checkpoint printed a class from a randomly initialised head).
The checkpoints here are the demo twins' models as built from their configs, with random
weights: no training needed."""
import functools
import subprocess
import sys

import pytest
import torch

from mmfish.apis import build_inferencer, load_config
from mmfish.checkpoint.io import CheckpointMismatchError
from mmfish_tools import build_in_scope
from mmfish_tools.tiny_twins import DEMO_TWINS

from tests.conftest import REPO

CONFIGS = {t.toolbox: str(REPO / t.config) for t in DEMO_TWINS}
TOOL = REPO / 'tools' / 'infer.py'


@functools.lru_cache(maxsize=None)
def _built_state(toolbox: str) -> dict:
    """The state dict of the model of ``toolbox``'s demo config (built as the toolboxes
    build it, the top-level data preprocessor merged), every float tensor moved off its
    initial values (so that a model equal to it got it from the file)."""
    cfg = load_config(CONFIGS[toolbox])
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    state = build_in_scope(toolbox, model_cfg).state_dict()
    return {k: v + 0.5 if v.is_floating_point() else v for k, v in state.items()}


def _model_state(toolbox: str) -> dict:
    return dict(_built_state(toolbox))


def _model(inferencer):
    return getattr(inferencer, 'model', None) or inferencer.inferencer.model


def _save(path, state):
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


# one loading path serves the four toolboxes (mmfish.apis.inference.strict_loading): the
# classifier's in make test, all four in make test-all
@pytest.mark.parametrize('toolbox', [t if t == 'mmpretrain' else pytest.param(
    t, marks=pytest.mark.slow) for t in CONFIGS])
def test_each_toolbox_loads_exactly_the_checkpoint(toolbox, tmp_path, monkeypatch):
    """A checkpoint of the config's model loads whole, read once by mmfish's loader: every
    tensor equal to the file's (BatchNorm's counters may be absent from it). One missing, one
    unexpected and one of another shape are each refused, naming the key."""
    import mmfish.checkpoint.io as io
    reads = []
    read = io.load_checkpoint
    monkeypatch.setattr(io, 'load_checkpoint', lambda *a, **k: reads.append(a) or read(*a, **k))
    state = _model_state(toolbox)
    good = {k: v for k, v in state.items() if not k.endswith('num_batches_tracked')}
    assert len(good) < len(state)
    model_state = _model(build_inferencer(CONFIGS[toolbox], _save(tmp_path / 'good.pth',
                                                                  good))).state_dict()
    assert [str(a[0]) for a in reads] == [str(tmp_path / 'good.pth')]
    assert set(model_state) == set(state)
    assert all(torch.equal(model_state[k].cpu(), v) for k, v in good.items())
    keys = [k for k, v in state.items() if v.ndim == 4 and k.startswith('backbone.')]
    missing, reshaped = keys[0], keys[1]
    bad = dict(state, **{'foreign.weight': torch.zeros(2),
                         reshaped: torch.zeros(1, *state[reshaped].shape[1:])})
    del bad[missing]
    with pytest.raises(CheckpointMismatchError) as refusal:
        build_inferencer(CONFIGS[toolbox], _save(tmp_path / 'bad.pth', bad))
    message = str(refusal.value)
    assert message.startswith(f'checkpoint {tmp_path / "bad.pth"} does not fit the model of '
                              f'{CONFIGS[toolbox]}: ')
    assert f"1 of the model's {len(state)} tensors missing ({missing})" in message
    assert '1 unexpected (foreign.weight)' in message
    assert (f'1 of another shape ({reshaped}: {[1, *state[reshaped].shape[1:]]} in the file, '
            f'{list(state[reshaped].shape)} in the model)') in message
    assert message.endswith('Give the checkpoint trained with this config')


def test_detector_checkpoint_for_a_classifier_is_refused(tmp_path):
    """The issue's case, through tools/infer.py in a process of its own: exit status 2, the
    classifier's head named as missing, the detector's parts as unexpected, no class
    printed, no picture drawn."""
    detector = _save(tmp_path / 'mask-rcnn.pth', _model_state('mmdet'))
    image = tmp_path / 'a.png'
    import numpy as np
    from PIL import Image
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(image)
    res = subprocess.run([sys.executable, str(TOOL), CONFIGS['mmpretrain'], detector, str(image),
                          '--out', str(tmp_path / 'out')], capture_output=True, text=True,
                         cwd=REPO)
    assert res.returncode == 2, res.stderr[-3000:]
    assert 'Traceback' not in res.stderr and 'class ' not in res.stdout, res.stderr[-3000:]
    error = [line for line in res.stderr.splitlines() if line.startswith('error: ')]
    assert len(error) == 1, res.stderr[-3000:]
    assert f'checkpoint {detector} does not fit the model of {CONFIGS["mmpretrain"]}' in error[0]
    assert 'missing (head.fc.weight, head.fc.bias)' in error[0]
    assert 'unexpected (neck.' in error[0] and 'Give the checkpoint trained with' in error[0]
    assert not list((tmp_path / 'out').rglob('*.png'))


def test_checkpoint_by_url_is_loaded_strictly(tmp_path, file_server, monkeypatch):
    """A URL resolves through the same loaders, and the same check: the classifier's own
    weights load exactly, a detector's are refused."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.delenv('MMFISH_MIRROR', raising=False)
    state = _model_state('mmpretrain')
    _save(file_server.root / 'cls.pth', state)
    _save(file_server.root / 'det.pth', _model_state('mmdet'))
    model = _model(build_inferencer(CONFIGS['mmpretrain'], f'{file_server.url}/cls.pth'))
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    with pytest.raises(CheckpointMismatchError, match=f'checkpoint {file_server.url}/det.pth '
                       'does not fit the model'):
        build_inferencer(CONFIGS['mmpretrain'], f'{file_server.url}/det.pth')
