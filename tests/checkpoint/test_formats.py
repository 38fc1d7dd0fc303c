"""What a file is, told from its bytes: the right diagnosis for files that are not
checkpoints, safetensors read as a first-class format, declared sizes checked before anything
is allocated, weights-only loading that no environment variable turns off, and the opt-in
that names a trusted file."""
import argparse
import gzip
import io
import json
import os
import re
import struct
import subprocess
import sys
import tarfile
import threading
import zipfile

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint

from mmfish.checkpoint import CheckpointError, ConversionError
from mmfish.checkpoint.formats import read_safetensors, sniff
from mmfish.weights import convert_checkpoint
from mmfish.models import ResNeSt

from tests.checkpoint.payloads import crafted_checkpoint

SMALL = dict(depth=50, base_channels=8, stem_channels=16)


def _official_resnest(path):
    from mmfish.variants import VARIANTS
    from tests.weights.test_conversion import _random_official_checkpoint
    return _random_official_checkpoint(VARIANTS['resnest50'], path)


def write_safetensors(path, tensors: dict, metadata=None) -> None:
    """The safetensors layout, written by hand: an 8-byte header length, a JSON header, the
    tensors' little-endian bytes."""
    names = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16',
             torch.bfloat16: 'BF16', torch.int64: 'I64', torch.uint8: 'U8', torch.bool: 'BOOL'}
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = dict(dtype=names[t.dtype], shape=list(t.shape),
                            data_offsets=[offset, offset + len(data)])
        chunks.append(data)
        offset += len(data)
    if metadata is not None:
        header['__metadata__'] = metadata
    raw = json.dumps(header).encode()
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(raw)) + raw + b''.join(chunks))


# -- the right diagnosis ----------------------------------------------------------------------
def _torch_bytes(obj=None) -> bytes:
    buf = io.BytesIO()
    torch.save(obj if obj is not None else {'w': torch.zeros(3)}, buf)
    return buf.getvalue()


def _tar(path):
    with tarfile.open(path, 'w') as tar:
        for name in ('sys_info', 'pickle', 'storages', 'tensors'):
            info = tarfile.TarInfo(name)
            info.size = 4
            tar.addfile(info, io.BytesIO(b'\x80\x02N.'))


def _zip_of(path, names):
    with zipfile.ZipFile(path, 'w') as z:
        for name in names:
            z.writestr(name, b'x')


def _torchscript(path):
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))


def _npz(path):
    with open(path, 'wb') as f:
        np.savez(f, a=np.zeros(3))


def _npy(path):
    with open(path, 'wb') as f:
        np.save(f, np.zeros(3))


MISTAKES = {
    'json': (lambda p: p.write_text('{"model": "resnest50"}'),
             'is a JSON text file, not a checkpoint of weights'),
    'gzip': (lambda p: p.write_bytes(gzip.compress(_torch_bytes())),
             r'is a gzip-compressed file, not a checkpoint of weights: decompress it first'),
    'tar': (_tar, r"is a tar archive, not a checkpoint of weights: either PyTorch's oldest "
                  r'checkpoint format .*MMFISH_TRUSTED_CHECKPOINTS='),
    'hdf5': (lambda p: p.write_bytes(b'\x89HDF\r\n\x1a\n' + b'\0' * 100), 'is an HDF5 file'),
    'npy': (_npy, r'is a NumPy \.npy array file'),
    'npz': (_npz, r'is a NumPy \.npz archive'),
    'torchscript': (_torchscript, r'is a TorchScript archive \(torch\.jit\.save\).*torch\.jit'
                                  r'\.load'),
    'zip': (lambda p: _zip_of(p, ['weights.bin']), 'is a zip archive that is not a PyTorch '
                                                   'checkpoint'),
    'text': (lambda p: p.write_text('hello\n' * 10), 'is no format mmfish knows'),
}


@pytest.mark.parametrize('kind', sorted(MISTAKES))
def test_files_that_are_not_checkpoints_are_named_for_what_they_are(kind, tmp_path):
    make, message = MISTAKES[kind]
    src, dst = tmp_path / 'resnest50.pth', tmp_path / 'out.pth'
    make(src)
    assert sniff(str(src)) == {'text': 'unknown'}.get(kind, kind)
    with pytest.raises(ConversionError, match=message) as info:
        convert_checkpoint('resnest', str(src), str(dst), log=lambda s: None)
    assert 'weights_only' not in str(info.value)  # never torch's hint to turn it off
    assert not dst.exists()
    model = ResNeSt(**SMALL, init_cfg=dict(type='Pretrained', checkpoint=str(src)))
    with pytest.raises(CheckpointError, match=message):
        model.init_weights()
    with pytest.raises(CheckpointError, match=message):  # load_from, --resume
        _load_checkpoint(str(src), map_location='cpu')


@pytest.mark.parametrize('kind', ['directory', 'fifo', 'device'])
def test_load_from_names_what_a_path_that_is_not_a_file_is(kind, tmp_path):
    path = {'directory': tmp_path, 'fifo': tmp_path / 'pipe', 'device': '/dev/zero'}[kind]
    if kind == 'fifo':
        os.mkfifo(path)
    message = {'directory': 'is a directory, not a checkpoint file',
               'fifo': r'is a FIFO \(named pipe\), not a regular file',
               'device': 'is a character device, not a regular file'}[kind]
    result = {}

    def load():  # a FIFO opened for reading would block: run it where a hang is seen
        try:
            _load_checkpoint(str(path), map_location='cpu')
        except Exception as exc:  # noqa: BLE001
            result['error'] = exc

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), 'the loader blocked on the path'
    assert isinstance(result.get('error'), CheckpointError), result
    assert re.search(message, str(result['error'])), result['error']


def test_a_tilde_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    torch.save({'state_dict': {'w': torch.ones(2)}}, tmp_path / 'x.pth')
    assert torch.equal(_load_checkpoint('~/x.pth', map_location='cpu')['state_dict']['w'],
                       torch.ones(2))


# -- safetensors ------------------------------------------------------------------------------
def test_safetensors_converts_as_the_same_weights_in_a_pth_do(tmp_path):
    state = _official_resnest(tmp_path / 'resnest50.pth')
    write_safetensors(tmp_path / 'model.safetensors', state, metadata={'format': 'pt'})
    assert sniff(str(tmp_path / 'model.safetensors')) == 'safetensors'
    for src in ('resnest50.pth', 'model.safetensors'):
        convert_checkpoint('resnest', str(tmp_path / src), str(tmp_path / f'{src}.out'),
                           log=lambda s: None, variant='resnest50')
    a = torch.load(tmp_path / 'resnest50.pth.out', weights_only=True)['state_dict']
    b = torch.load(tmp_path / 'model.safetensors.out', weights_only=True)['state_dict']
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_safetensors_loads_through_pretrained_and_load_from(tmp_path):
    weights = ResNeSt(**SMALL).state_dict()
    path = tmp_path / 'backbone.safetensors'
    write_safetensors(path, {f'backbone.{k}': v for k, v in weights.items()})
    model = ResNeSt(**SMALL, init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                           prefix='backbone.'))
    model.init_weights()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in weights.items())
    loaded = _load_checkpoint(str(path), map_location='cpu')['state_dict']
    assert all(torch.equal(loaded[f'backbone.{k}'], v) for k, v in weights.items())


def test_the_reader_agrees_with_the_safetensors_package(tmp_path):
    from safetensors.torch import save_file
    tensors = {'a': torch.randn(3, 4), 'b': torch.arange(5), 'c': torch.randn(2).bfloat16(),
               'd': torch.tensor([True, False]), 'e': torch.zeros(0, 3)}
    save_file(tensors, str(tmp_path / 'x.safetensors'), metadata={'k': 'v'})
    loaded = read_safetensors(str(tmp_path / 'x.safetensors'))
    assert loaded['meta'] == {'safetensors': {'k': 'v'}}
    assert set(loaded['state_dict']) == set(tensors)
    for name, t in tensors.items():
        got = loaded['state_dict'][name]
        assert got.dtype == t.dtype and torch.equal(got, t)


@pytest.mark.parametrize('damage, message', [
    (lambda raw: raw[:-4], r"entry 'w' .* has data_offsets \[0, 64\], which do not fit"),
    (lambda raw: struct.pack('<Q', 10 ** 6) + raw[8:], r'the safetensors header declares '
                                                       r'1000000 bytes, but the file holds'),
    (lambda raw: raw.replace(b'"F32"', b'"X32"'), "'w' is not a tensor of a known dtype"),
    (lambda raw: raw.replace(b'[0, 64]', b'[0, 68]'), 'which do not fit'),
], ids=['truncated', 'header-length', 'dtype', 'offsets'])
def test_damaged_safetensors_are_refused_with_the_reason(damage, message, tmp_path):
    path = tmp_path / 'x.safetensors'
    write_safetensors(path, {'w': torch.zeros(16)})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CheckpointError, match=message):
        _load_checkpoint(str(path), map_location='cpu')


# -- declared sizes ---------------------------------------------------------------------------
def _with_data_pkl(src: bytes, path, edit) -> None:
    with zipfile.ZipFile(io.BytesIO(src)) as z, zipfile.ZipFile(path, 'w') as out:
        for info in z.infolist():
            data = z.read(info)
            out.writestr(info.filename, edit(info.filename, data), zipfile.ZIP_STORED)


def test_a_compression_bomb_is_refused_before_it_inflates(tmp_path):
    """A record DEFLATE-compressed 1000x (torch.save never compresses): refused from the zip
    directory, before anything is inflated."""
    path = tmp_path / 'bomb.pth'
    src = _torch_bytes({'w': torch.zeros(8 << 20)})  # 32 MiB of zeros
    with zipfile.ZipFile(io.BytesIO(src)) as z, zipfile.ZipFile(path, 'w') as out:
        for info in z.infolist():
            compress = zipfile.ZIP_DEFLATED if '/data/' in info.filename else zipfile.ZIP_STORED
            out.writestr(info.filename, z.read(info), compress)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(CheckpointError, match=r'inflates from .* to 32\.0 MiB \(\d+x\); '
                                              r'torch\.save writes records uncompressed'):
        _load_checkpoint(str(path), map_location='cpu')


def test_a_storage_declared_larger_than_its_record_is_refused(tmp_path):
    path = tmp_path / 'big.pth'
    numel = (10 ** 8).to_bytes(4, 'little')
    _with_data_pkl(_torch_bytes({'w': torch.zeros(3)}), path,
                   lambda name, data: data.replace(b'K\x03t', b'J' + numel + b't', 1)
                   if name.endswith('data.pkl') else data)
    with pytest.raises(CheckpointError, match=r"declares 400000000 bytes for storage '0', but "
                                              r'the file holds 12 for it'):
        _load_checkpoint(str(path), map_location='cpu')


def test_a_legacy_checkpoint_declaring_more_than_it_holds_is_refused(tmp_path):
    buf = io.BytesIO()
    torch.save({'w': torch.zeros(3)}, buf, _use_new_zipfile_serialization=False)
    path = tmp_path / 'legacy.pth'
    path.write_bytes(buf.getvalue().replace(b'K\x03Nt', b'J' + (10 ** 8).to_bytes(4, 'little')
                                            + b'Nt', 1))
    with pytest.raises(CheckpointError, match=r'declares storages of 400000000 bytes in all, '
                                              r'but only \d+ bytes follow it'):
        _load_checkpoint(str(path), map_location='cpu')
    path.write_bytes(buf.getvalue())
    assert torch.equal(_load_checkpoint(str(path))['w'], torch.zeros(3))


def test_the_size_limit_is_documented_and_overridable(tmp_path, monkeypatch):
    path = tmp_path / 'x.pth'
    torch.save({'w': torch.zeros(1000)}, path)
    monkeypatch.setenv('MMFISH_MAX_CHECKPOINT_SIZE', '1K')
    with pytest.raises(CheckpointError, match=r'more than the limit of 1\.0 KiB.*'
                                              r'MMFISH_MAX_CHECKPOINT_SIZE='):
        _load_checkpoint(str(path), map_location='cpu')
    monkeypatch.setenv('MMFISH_MAX_CHECKPOINT_SIZE', '1M')
    assert _load_checkpoint(str(path))['w'].shape == (1000, )
    monkeypatch.setenv('MMFISH_MAX_CHECKPOINT_SIZE', 'lots')
    with pytest.raises(ValueError, match="MMFISH_MAX_CHECKPOINT_SIZE='lots' is invalid"):
        _load_checkpoint(str(path), map_location='cpu')


# -- weights-only loading, always; full unpickling only for a file the user names -------------
_LOADERS = {
    'load_from': 'from mmengine.runner.checkpoint import _load_checkpoint\n'
                 '_load_checkpoint({path!r}, map_location="cpu")',
    'mmengine-pretrained': 'from mmengine.model.weight_init import PretrainedInit\n'
                           'import torch\n'
                           'PretrainedInit(checkpoint={path!r})(torch.nn.Linear(2, 2))',
    'converter': 'from mmfish.weights import convert_checkpoint\n'
                 'convert_checkpoint("resnest", {path!r}, {path!r} + ".out")',
}


def test_torch_force_no_weights_only_load_turns_nothing_off(tmp_path):
    """The variable users set to get old checkpoints loading does not make any loader of a
    process that imported mmfish unpickle in full: the crafted file runs nothing (each loader
    in turn, in one process with the variable set)."""
    marker = tmp_path / 'code-ran'
    path = crafted_checkpoint(tmp_path / 'resnest50.pth', marker)
    code = 'import mmfish\n' + ''.join(
        f'try:\n    exec({_LOADERS[name].format(path=str(path))!r})\n'
        f'except Exception as exc:\n    print({name!r}, "refused:", exc)\n'
        f'else:\n    print({name!r}, "loaded")\n' for name in sorted(_LOADERS))
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    for name in _LOADERS:
        line = next(line for line in lines if line.startswith(name + ' '))
        assert 'refused:' in line and 'weights-only loading refuses' in line, line
    assert not marker.exists()


def test_a_trusted_file_is_unpickled_in_full_only_when_named(tmp_path, monkeypatch):
    """A checkpoint holding an ``argparse.Namespace`` (as training scripts save their
    arguments) needs full unpickling: refused with the opt-in named, converted once the user
    names that file in MMFISH_TRUSTED_CHECKPOINTS; another file stays refused."""
    state = _official_resnest(tmp_path / 'plain.pth')
    src = tmp_path / 'with_args.pth'
    torch.save({'state_dict': state, 'args': argparse.Namespace(lr=0.1)}, src)
    dst = tmp_path / 'out.pth'
    with pytest.raises(ConversionError, match=r'weights-only loading refuses.*name it in '
                                              r'MMFISH_TRUSTED_CHECKPOINTS=' + str(src)):
        convert_checkpoint('resnest', str(src), str(dst), log=lambda s: None,
                           variant='resnest50')
    other = tmp_path / 'other.pth'
    other.write_bytes(src.read_bytes())
    monkeypatch.setenv('MMFISH_TRUSTED_CHECKPOINTS', str(src))
    with pytest.warns(UserWarning, match='unpickled in full'):
        convert_checkpoint('resnest', str(src), str(dst), log=lambda s: None,
                           variant='resnest50')
    assert dst.is_file()
    with pytest.raises(ConversionError, match='weights-only loading refuses'):
        convert_checkpoint('resnest', str(other), str(tmp_path / 'o.pth'), log=lambda s: None,
                           variant='resnest50')


# -- URLs -------------------------------------------------------------------------------------
@pytest.fixture
def served(tmp_path, monkeypatch):
    """A folder served over HTTP on the loopback interface; downloads go to a fresh
    $TORCH_HOME."""
    import functools
    import http.server
    root = tmp_path / 'served'
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    yield root, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def test_urls_are_downloaded_then_read_weights_only(served, tmp_path):
    """``http://`` checkpoints (and ``open-mmlab://``, ``torchvision://``, which resolve to
    URLs) reach mmfish's loader: a good file loads through ``init_cfg=Pretrained`` into the
    download cache, a crafted one runs nothing (MMEngine's own loader would read it with
    torch.hub, whose default is full unpickling)."""
    root, url = served
    weights = ResNeSt(**SMALL).state_dict()
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in weights.items()}},
               root / 'good.pth')
    model = ResNeSt(**SMALL, init_cfg=dict(type='Pretrained', checkpoint=f'{url}/good.pth',
                                           prefix='backbone.'))
    model.init_weights()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in weights.items())
    assert (tmp_path / 'torch' / 'hub' / 'checkpoints' / 'good.pth').is_file()
    marker = tmp_path / 'code-ran'
    crafted_checkpoint(root / 'crafted.pth', marker)
    with pytest.raises(CheckpointError, match='crafted.pth holds objects that weights-only '
                                              'loading refuses'):
        _load_checkpoint(f'{url}/crafted.pth', map_location='cpu')
    assert not marker.exists()
