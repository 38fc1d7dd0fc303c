"""numpy objects in weights-only loading: the arrays and scalars MMEngine's checkpoints hold
load, and a crafted file cannot build an object-typed array over raw bytes (which numpy reads
as pointers). Each loader runs in a process of its own, so that a crash fails the test instead
of ending the suite."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from .payloads import (
    array_from_buffer,
    in_message_hub,
    object_array_over_bytes,
    object_scalar_over_bytes,
    write_torch_zip,
)

PAYLOADS = {
    'array': object_array_over_bytes,
    'array-numpy1': lambda: object_array_over_bytes('numpy.core.multiarray'),
    'scalar': object_scalar_over_bytes,
    'buffer': array_from_buffer,
}

#: what mmfish once allowed: numpy's own classes and reconstruction
_NUMPY_ALLOWED = '''
import numpy as np, torch
from numpy._core import multiarray as m
kinds = [np.bool_, np.int64, np.float32, np.float64]
torch.serialization.add_safe_globals(
    [np.ndarray, np.dtype, m._reconstruct, m.scalar, type(np.dtype('V8')), type(np.dtype('O'))]
    + [type(np.dtype(t)) for t in kinds])
'''


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(params=sorted(PAYLOADS))
def crafted(request, tmp_path):
    return write_torch_zip(tmp_path / 'resnest50.pth', PAYLOADS[request.param]())


def test_the_array_payload_crashes_where_numpy_classes_are_allowed(tmp_path):
    """The control: with numpy's own classes allowlisted, touching the loaded array ends the
    process with a segmentation fault; so the tests below can fail."""
    path = write_torch_zip(tmp_path / 'x.pth', object_array_over_bytes())
    result = _run(_NUMPY_ALLOWED + f'x = torch.load({str(path)!r}, weights_only=True)\n'
                  "print('loaded', flush=True)\nimport copy; copy.deepcopy(x); print(x['a'])")
    assert 'loaded' in result.stdout
    assert result.returncode < 0, (result.returncode, result.stderr[-2000:])


def _assert_refused(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode > 0, (result.returncode, result.stdout, result.stderr[-2000:])
    assert expected in result.stderr, result.stderr[-2000:]


def test_plain_torch_load_refuses_it_after_import_mmfish(crafted):
    result = _run(f'import mmfish, torch, copy\nx = torch.load({str(crafted)!r}, '
                  f'weights_only=True)\ncopy.deepcopy(x); print(x)')
    _assert_refused(result, 'UnpicklingError')
    assert 'weights-only loading refuses' in result.stderr


def test_the_converter_refuses_it(crafted, tmp_path):
    dst = tmp_path / 'out.pth'
    result = _run(f'import sys; from mmfish.converters.convert import main\n'
                  f'sys.exit(main(argv=[{str(crafted)!r}, {str(dst)!r}, "--no-check-hash"]))')
    _assert_refused(result, 'weights-only loading refuses')
    assert 'nothing was written' in result.stderr and not dst.exists()


def test_init_cfg_pretrained_refuses_it(crafted):
    result = _run(f'from mmfish.models import ResNeSt\nm = ResNeSt(depth=50, base_channels=8, '
                  f'stem_channels=16, init_cfg=dict(type="Pretrained", '
                  f'checkpoint={str(crafted)!r}))\nm.init_weights()')
    _assert_refused(result, 'CheckpointError')
    assert 'weights-only loading refuses' in result.stderr


@pytest.mark.parametrize('name', ['array', 'scalar'])
def test_load_from_and_resume_refuse_it_in_the_message_hub(name, tmp_path):
    """``load_from``/``--resume`` read through MMEngine's CheckpointLoader; the payload sits
    where a training checkpoint keeps its runtime information."""
    path = write_torch_zip(tmp_path / 'iter_4.pth', in_message_hub(PAYLOADS[name]()))
    result = _run(f'import mmfish, copy\nfrom mmengine.runner.checkpoint import _load_checkpoint\n'
                  f'x = _load_checkpoint({str(path)!r}, map_location="cpu")\n'
                  f'copy.deepcopy(x); print(x)')
    _assert_refused(result, 'CheckpointError')
    assert f'{path} holds objects that weights-only loading refuses' in result.stderr


@pytest.mark.parametrize('value', [
    np.float64(1.5), np.float32(-2.0), np.int64(7), np.bool_(True), np.uint8(3),
    np.arange(6, dtype=np.float64).reshape(2, 3), np.arange(4, dtype='>i4'),
    np.zeros((0, 3), dtype=np.float16), np.asfortranarray(np.arange(6.).reshape(2, 3)),
    np.array([1 + 2j], dtype=np.complex64),
], ids=lambda v: f'{type(v).__name__}-{v.dtype}')
def test_numeric_numpy_values_load_and_pickle_again_as_numpy_s_own(value, tmp_path):
    path = tmp_path / 'x.pth'
    torch.save({'v': value}, path)
    loaded = torch.load(path, weights_only=True)['v']
    expected = pickle.loads(pickle.dumps(value, protocol=2))  # numpy's own unpickling
    assert type(loaded) is type(value) or isinstance(loaded, np.ndarray)
    assert loaded.dtype == expected.dtype and np.array_equal(loaded, value)
    again = pickle.dumps(loaded, protocol=2)
    assert b'mmfish' not in again
    assert np.array_equal(pickle.loads(again), value)


@pytest.mark.parametrize('spec', ['O8', 'V8', 'S4', 'U1', 'M8', 'f8,i4'])
def test_dtypes_that_are_not_numbers_are_refused(spec):
    from mmfish.checkpoint.compat import UnpickledDtype
    with pytest.raises(pickle.UnpicklingError, match='weights-only loading refuses'):
        UnpickledDtype(spec, False, True)


def test_array_constructor_is_refused():
    from mmfish.checkpoint.compat import UnpickledArray
    with pytest.raises(pickle.UnpicklingError, match='numpy array construction'):
        UnpickledArray((10, ), np.float64, b'x' * 8)
