"""numpy objects in weights-only loading: the arrays and scalars MMEngine's checkpoints hold
load, and a crafted file cannot build an object-typed array over raw bytes (which numpy reads
as pointers). Each loader runs in a process of its own, so that a crash fails the test instead
of ending the suite."""
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.checkpoint.payloads import (
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


def _run(code: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope='module')
def crafted(tmp_path_factory) -> dict:
    """Each payload in a torch zip file: ``{name: path}``."""
    root = tmp_path_factory.mktemp('crafted')
    return {name: write_torch_zip(root / f'{name}.pth', make()) for name, make in
            PAYLOADS.items()}


#: each loader, as a statement reading ``path`` (the output ``dst`` for the converter)
LOADERS = {
    'torch.load': 'x = torch.load(path, weights_only=True)',
    'converter': 'from mmfish.weights import main\n'
                 'code = main(argv=[path, dst, "--no-check-hash"])\n'
                 'if code: raise RuntimeError("refused: exit status %d" % code)\n'
                 'x = None',
    'pretrained': 'from mmfish.models import ResNeSt\n'
                  'm = ResNeSt(depth=50, base_channels=8, stem_channels=16, init_cfg=dict('
                  'type="Pretrained", checkpoint=path))\nm.init_weights()\nx = m.state_dict()',
    'load_from': 'from mmengine.runner.checkpoint import _load_checkpoint\n'
                 'x = _load_checkpoint(path, map_location="cpu")',
}

#: loads every file given in one process, touching whatever loads; one line per file
_RUN_ALL = """
import contextlib, copy, io, sys, torch, mmfish
loader = {loader!r}
for path in sys.argv[1:]:
    dst = path + '.out'
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            exec(loader)
        copy.deepcopy(x); repr(x)
        print('LOADED', path, flush=True)
    except BaseException as exc:
        print('REFUSED', path, type(exc).__name__, str(exc).replace(chr(10), ' ')[:2000],
              err.getvalue().replace(chr(10), ' ')[-2000:], flush=True)
"""


def _load_each(loader: str, paths) -> dict:
    """``{path: the loader's output line}``, every file loaded by one process of its own (a
    crash fails the test, naming the loader)."""
    result = _run(_RUN_ALL.format(loader=LOADERS[loader]) + '\n', *map(str, paths))
    assert result.returncode == 0, (loader, result.returncode, result.stdout,
                                    result.stderr[-2000:])
    lines = {line.split(' ', 2)[1]: line for line in result.stdout.splitlines()
             if line.startswith(('LOADED', 'REFUSED'))}
    assert len(lines) == len(paths), result.stdout
    return lines


def test_the_array_payload_crashes_where_numpy_classes_are_allowed(tmp_path):
    """The control: with numpy's own classes allowlisted, touching the loaded array ends the
    process with a segmentation fault; so the tests below can fail."""
    path = write_torch_zip(tmp_path / 'x.pth', object_array_over_bytes())
    result = _run(_NUMPY_ALLOWED + f'x = torch.load({str(path)!r}, weights_only=True)\n'
                  "print('loaded', flush=True)\nimport copy; copy.deepcopy(x); print(x['a'])")
    assert 'loaded' in result.stdout
    assert result.returncode < 0, (result.returncode, result.stderr[-2000:])


@pytest.mark.parametrize('loader, expected', [
    ('torch.load', 'UnpicklingError'),
    ('converter', 'weights-only loading refuses'),
    ('pretrained', 'CheckpointError'),
    ('load_from', 'CheckpointError'),
])
def test_every_loader_refuses_every_payload_without_crashing(crafted, loader, expected):
    """Plain ``torch.load(weights_only=True)`` after ``import mmfish``, the converter,
    ``init_cfg=Pretrained`` and MMEngine's loader (``load_from``, ``--resume``)."""
    for name, line in _load_each(loader, crafted.values()).items():
        assert line.startswith('REFUSED') and expected in line, line
        assert 'weights-only loading refuses' in line, line
    assert not any(Path(f'{p}.out').exists() for p in crafted.values())


def test_load_from_and_resume_refuse_it_in_the_message_hub(tmp_path):
    """The payloads where a training checkpoint keeps its runtime information, which
    ``--resume`` reads."""
    paths = [write_torch_zip(tmp_path / f'iter_{name}.pth', in_message_hub(PAYLOADS[name]()))
             for name in ('array', 'scalar')]
    for path, line in _load_each('load_from', paths).items():
        assert line.startswith(f'REFUSED {path} CheckpointError {path} holds objects that '
                               f'weights-only loading refuses'), line


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
