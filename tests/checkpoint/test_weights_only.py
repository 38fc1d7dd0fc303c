"""Weights-only loading keeps its guarantee in every process that imports mmfish: a crafted
checkpoint that reaches ``eval`` through ``getattr`` runs nothing, whichever way it is loaded
(plain ``torch.load``, the converters, ``init_cfg=Pretrained``, ``mim train --resume``), while
MMEngine's own checkpoints still load (tests/checkpoint/test_compat.py,
tests/test_resume_kill.py)."""
import pickle
import subprocess
import sys

import pytest
import torch

from mmfish.checkpoint import CheckpointError, ConversionError
from mmfish.checkpoint.compat import HISTORY_BUFFER_METHODS, history_buffer_getattr
from mmfish.weights import convert_checkpoint
from mmfish.models import ResNeSt

from tests.checkpoint.payloads import (
    crafted_checkpoint,
    in_message_hub,
    object_array_over_bytes,
    write_torch_zip,
)


@pytest.fixture
def crafted(tmp_path):
    marker = tmp_path / 'code-ran'
    return crafted_checkpoint(tmp_path / 'resnest50.pth', marker), marker


def _load_in_subprocess(path, prelude: str) -> subprocess.CompletedProcess:
    code = (f'import torch\n{prelude}\n'
            f'torch.load({str(path)!r}, map_location="cpu", weights_only=True)\n')
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120)


def test_the_payload_runs_code_where_getattr_is_allowed(crafted):
    """The control: with the real ``getattr`` allowlisted (what mmfish once did), loading the
    file runs its code; so the tests below can fail."""
    path, marker = crafted
    result = _load_in_subprocess(path, 'torch.serialization.add_safe_globals([getattr])')
    assert marker.exists(), result.stderr


@pytest.mark.parametrize('prelude', ['', 'import mmfish'], ids=['torch', 'torch+mmfish'])
def test_plain_torch_load_refuses_it(crafted, prelude):
    path, marker = crafted
    result = _load_in_subprocess(path, prelude)
    assert result.returncode != 0 and 'UnpicklingError' in result.stderr
    assert not marker.exists()


def test_refused_in_this_process(crafted):
    path, marker = crafted
    with pytest.raises(pickle.UnpicklingError, match=r"getattr\(function, '__self__'\)"):
        torch.load(path, map_location='cpu', weights_only=True)
    assert not marker.exists()


def test_refused_by_the_converter(crafted, tmp_path):
    path, marker = crafted
    dst = tmp_path / 'out.pth'
    with pytest.raises(ConversionError, match='weights-only loading refuses'):
        convert_checkpoint('resnest', str(path), str(dst), log=lambda s: None)
    assert not marker.exists() and not dst.exists()


def test_refused_by_init_cfg_pretrained(crafted):
    path, marker = crafted
    model = ResNeSt(depth=50, base_channels=8, stem_channels=16,
                    init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointError, match=f'{path}.*weights-only loading refuses'):
        model.init_weights()
    assert not marker.exists()


def test_stand_in_resolves_only_the_history_buffer_methods():
    from mmengine.logging import HistoryBuffer
    for name in HISTORY_BUFFER_METHODS:
        assert history_buffer_getattr(HistoryBuffer, name) is getattr(HistoryBuffer, name)
    for obj, name in [(HistoryBuffer, '__init__'), (HistoryBuffer, '__class__'),
                      (getattr, '__self__'), (history_buffer_getattr, '__globals__'),
                      (torch, 'load'), (HistoryBuffer, 'register_statistics')]:
        with pytest.raises(pickle.UnpicklingError, match='weights-only loading refuses'):
            history_buffer_getattr(obj, name)
    registered = torch.serialization.get_safe_globals()
    assert getattr not in registered  # the real one is never allowlisted
    assert (history_buffer_getattr, 'builtins.getattr') in registered


@pytest.mark.parametrize('kind', ['crafted'] + [
    # the loader refuses these in tests/checkpoint/test_formats.py and test_bad_input.py;
    # through mim train --resume in make test-all
    pytest.param(kind, marks=pytest.mark.slow) for kind in ['numpy-object', 'empty', 'truncated']])
def test_mim_train_resume_names_an_unreadable_checkpoint(kind, workspace, tmp_path):
    """``mim train ... --resume`` with ``last_checkpoint`` naming a crafted, 0-byte or
    truncated file stops with an error that names the file; the crafted one runs nothing, and
    the one whose message hub holds an object-typed numpy array over raw bytes does not crash
    the process (tests/checkpoint/test_crafted_numpy.py)."""
    from mmfish_tools.mim_runs import MimError, run_mim
    from mmfish_tools.tiny_twins import demo_twins

    from tests.conftest import REPO
    twin = next(t for t in demo_twins() if t.toolbox == 'mmpretrain')
    work_dir = workspace / 'work_dirs' / f'resume-{kind}'
    work_dir.mkdir(parents=True)
    ckpt, marker = work_dir / 'iter_2.pth', tmp_path / 'code-ran'
    if kind == 'crafted':
        crafted_checkpoint(ckpt, marker)
    elif kind == 'numpy-object':
        write_torch_zip(ckpt, in_message_hub(object_array_over_bytes()))
    elif kind == 'empty':
        ckpt.write_bytes(b'')
    else:
        torch.save({'state_dict': {'w': torch.zeros(1000)}}, ckpt)
        ckpt.write_bytes(ckpt.read_bytes()[:1500])
    (work_dir / 'last_checkpoint').write_text(str(ckpt))
    with pytest.raises(MimError) as info:
        run_mim('train', 'mmpretrain', str(REPO / twin.config), str(work_dir),
                args=['--resume'], log=lambda s: None, cwd=str(workspace))
    output = (work_dir / 'mim_train.log').read_text()
    assert 'CheckpointError' in output and str(ckpt) in output, str(info.value)[-2000:]
    expected = {'crafted': 'weights-only loading refuses',
                'numpy-object': 'weights-only loading refuses', 'empty': 'is empty (0 bytes)',
                'truncated': 'is it truncated or corrupt'}[kind]
    assert expected in output
    assert not marker.exists()
