"""mmfish's safetensors reader refuses what the format refuses: each crafted file below is
refused by the ``safetensors`` package too, and by mmfish with a message that names the file
and what is wrong (never a raw TypeError or RecursionError), through ``read_safetensors`` and
MMEngine's loader (``load_from``, ``--resume``). Files the package writes read as before."""
import json
import re
import struct

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint

from mmfish.checkpoint import CheckpointError
from mmfish.checkpoint.formats import read_safetensors, sniff

F32x4 = dict(dtype='F32', shape=[4])  # 16 bytes


def _entry(begin, end, **kwargs):
    return dict(F32x4, data_offsets=[begin, end], **kwargs)


def _write(path, header, data: bytes):
    """A safetensors file: ``header`` (a dict, or the JSON text itself), then ``data``."""
    text = header if isinstance(header, str) else json.dumps(header)
    raw = text.encode()
    path.write_bytes(struct.pack('<Q', len(raw)) + raw + data)
    return path


def _nested(depth: int) -> str:
    return '[' * depth + ']' * depth


W = '{"dtype": "F32", "shape": [4], "data_offsets": [%d, %d]}'

#: name: (header, data, what mmfish's message says)
CRAFTED = {
    'aliased': ({'a': _entry(0, 16), 'b': _entry(0, 16)}, bytes(16),
                r"the safetensors entries '(a|b)' \(data_offsets \[0, 16\]\) and '(a|b)' "
                r'\(\[0, 16\]\) overlap'),
    'overlapping': ({'a': _entry(0, 16), 'b': _entry(8, 24)}, bytes(24),
                    r"the safetensors entries 'a' \(data_offsets \[0, 16\]\) and 'b' "
                    r'\(\[8, 24\]\) overlap'),
    'gap': ({'a': _entry(0, 16), 'b': _entry(20, 36)}, bytes(36),
            r"bytes 16 to 20 of the safetensors data \(between 'a' and 'b'\) belong to no "
            r'tensor'),
    'leading-gap': ({'a': _entry(4, 20)}, bytes(20),
                    r"bytes 0 to 4 of the safetensors data \(before 'a'\) belong to no tensor"),
    'trailing-bytes': ({'a': _entry(0, 16)}, bytes(20),
                       r"the last 4 bytes of the safetensors data \(from byte 16, after 'a'\) "
                       r'belong to no tensor'),
    'duplicate-name': ('{"w": %s, "w": %s}' % (W % (0, 16), W % (16, 32)), bytes(32),
                       r"the safetensors header names 'w' twice in one table; JSON readers "
                       r'disagree'),
    'duplicate-field': ('{"w": {"dtype": "F32", "shape": [4], "shape": [2, 2], '
                        '"data_offsets": [0, 16]}}', bytes(16),
                        r"the safetensors header names 'shape' twice"),
    'metadata-int': ({'__metadata__': {'format': 'pt', 'epoch': 3}, 'a': _entry(0, 16)},
                     bytes(16), r"the safetensors __metadata__ must be a table of strings, as "
                                r"the format defines it, but its value for 'epoch' is 3, not a "
                                r'string'),
    'metadata-list': ({'__metadata__': ['pt'], 'a': _entry(0, 16)}, bytes(16),
                      r'the safetensors __metadata__ must be a table of strings, .* but it is '
                      r'\["pt"\], not a table'),
    'overflowing-shape': ({'a': dict(dtype='F32', shape=[0, 2 ** 70], data_offsets=[0, 0])},
                          b'', r"the safetensors entry 'a' has the shape \[0, "
                               r'1180591620717411303424\] \(F32\), whose sizes overflow'),
    'overflowing-count': ({'a': dict(dtype='F32', shape=[2 ** 40, 2 ** 40, 0],
                                     data_offsets=[0, 0])},
                          b'', r"the safetensors entry 'a' has the shape .* whose sizes "
                               r'overflow'),
    'nested-200': ('{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16], "x": %s}}'
                   % _nested(200), bytes(16),
                   r"the safetensors header nests 202 levels deep; the format's readers allow "
                   r'128'),
    'nested-100k': ('{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16], "x": %s}}'
                    % _nested(100_000), bytes(16),
                    r'the safetensors header nests 100002 levels deep'),
    'nan': ('{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16], "x": NaN}}',
            bytes(16), r'the safetensors header is not JSON \(NaN is not a JSON value\)'),
}


@pytest.mark.parametrize('case', sorted(CRAFTED))
def test_what_the_format_refuses_is_refused_naming_the_file(case, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file
    header, data, message = CRAFTED[case]
    path = _write(tmp_path / f'{case}.safetensors', header, data)
    assert sniff(str(path)) == 'safetensors'
    with pytest.raises(Exception) as by_package:  # the format's own reader
        load_file(str(path))
    assert not isinstance(by_package.value, (RecursionError, MemoryError))
    with pytest.raises(Exception):
        with safe_open(str(path), framework='pt'):
            pass
    expected = rf'^{re.escape(str(path))}: {message}'
    with pytest.raises(ValueError, match=expected):
        read_safetensors(str(path))
    with pytest.raises(CheckpointError, match=expected):  # load_from, --resume
        _load_checkpoint(str(path), map_location='cpu')


def test_what_the_format_accepts_still_reads(tmp_path):
    """Files the package writes, and the header forms it reads (names full of brackets,
    quotes and backslashes, unknown fields, ``null`` metadata, empty tensors sharing an offset,
    padding after the header), read to equal tensors."""
    from safetensors.torch import load_file, save_file
    tensors = {'conv.weight': torch.randn(8, 4, 3, 3), 'bn.num_batches_tracked': torch.tensor(7),
               'empty': torch.zeros(0, 5), 'half': torch.randn(3).half(),
               '[' * 300 + '"\\' + '{' * 300 + '\\"\\': torch.ones(2)}
    save_file(tensors, str(tmp_path / 'saved.safetensors'), metadata={'format': 'pt'})
    loaded = read_safetensors(str(tmp_path / 'saved.safetensors'))
    assert loaded['meta'] == {'safetensors': {'format': 'pt'}}
    assert list(loaded['state_dict']) == list(load_file(str(tmp_path / 'saved.safetensors')))
    for name, tensor in tensors.items():
        got = loaded['state_dict'][name]
        assert got.dtype == tensor.dtype and torch.equal(got, tensor)

    values = torch.arange(4, dtype=torch.float32)
    header = {'__metadata__': None, 'z': dict(dtype='F32', shape=[0, 3], data_offsets=[16, 16]),
              'y': dict(dtype='F32', shape=[0], data_offsets=[0, 0]),
              'a': _entry(0, 16, note='ignored')}
    text = json.dumps(header) + '   '
    path = _write(tmp_path / 'hand.safetensors', text, values.numpy().tobytes())
    by_package = load_file(str(path))
    loaded = read_safetensors(str(path))['state_dict']
    assert set(loaded) == set(by_package) == {'a', 'y', 'z'}
    assert all(torch.equal(loaded[k], by_package[k]) for k in loaded)
    assert torch.equal(loaded['a'], values) and loaded['z'].shape == (0, 3)
