"""Reading PaddlePaddle's .pdparams without Paddle: the file Paddle's own ``paddle.save`` wrote
reads as tensors, and a pickle that reaches anything but numpy array reconstruction is refused
before anything runs."""
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from mmfish.checkpoint import CheckpointError, ConversionError, load_checkpoint
from mmfish.checkpoint.paddle import PaddleUnpickler, is_paddle_pickle, read_pdparams
from mmfish.weights import convert_checkpoint

from tests.conftest import DATA

FIXTURE = DATA / 'official' / 'paddle_res2net200_vd_w16.pdparams'


def _raw(path=FIXTURE) -> dict:
    with open(path, 'rb') as f:
        return PaddleUnpickler(f).load()


def test_reads_the_file_paddle_saved():
    state = read_pdparams(FIXTURE)
    raw = _raw()
    names = raw.pop('StructuredToParameterName@@')
    assert list(state) == list(raw) and len(state) == 1687
    assert names['conv1_1._conv.weight'] == 'conv1_1_weights'
    assert names['out.weight'] == 'fc_weights'
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float32 for v in state.values())
    assert tuple(state['out.weight'].shape) == (128, 10)  # paddle.nn.Linear: (in, out)
    assert all(np.array_equal(state[k].numpy(), raw[k]) for k in state)
    assert load_checkpoint(FIXTURE).keys() == state.keys()  # dispatched by content


@pytest.mark.parametrize('protocol', [3, 4])
def test_other_protocols_and_numpy_1_names(protocol, tmp_path):
    """Paddle writes protocols 2 to 4; numpy 1.x names its array reconstruction
    ``numpy.core.multiarray._reconstruct`` (2.x: ``numpy._core``)."""
    raw = _raw()
    path = tmp_path / 'p.pdparams'
    path.write_bytes(pickle.dumps(raw, protocol=protocol))
    assert is_paddle_pickle(path)
    assert torch.equal(read_pdparams(path)['out.weight'], torch.from_numpy(raw['out.weight']))
    old = FIXTURE.read_bytes().replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    assert b'cnumpy.core.multiarray\n_reconstruct' in old
    (tmp_path / 'old.pdparams').write_bytes(old)
    assert read_pdparams(tmp_path / 'old.pdparams').keys() == read_pdparams(FIXTURE).keys()


def test_tensors_stored_in_slices_are_joined(tmp_path):
    """Protocols 2 and 3 store a tensor over 1 GiB in slices (Paddle's _unpack_saved_dict)."""
    value = np.arange(12, dtype='float32').reshape(3, 4)
    flat = value.flatten()
    obj = {'a@@.0': flat[:5], 'a@@.1': flat[5:], 'b': np.ones(2, 'float32'),
           'UnpackBigParamInfor@@': {'a': {'OriginShape': (3, 4), 'slices': ['a@@.0', 'a@@.1']}}}
    path = tmp_path / 'big.pdparams'
    path.write_bytes(pickle.dumps(obj, protocol=2))
    state = read_pdparams(path)
    assert list(state) == ['b', 'a'] and np.array_equal(state['a'].numpy(), value)


def _global(module: str, name: str) -> bytes:
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def _str(text: str) -> bytes:
    data = text.encode()
    return b'X' + len(data).to_bytes(4, 'little') + data


def _call(module: str, name: str, *args: str) -> bytes:
    """A protocol-2 pickle of ``{'w': module.name(*args)}``."""
    return (b'\x80\x02}' + _str('w') + _global(module, name) + b'(' + b''.join(map(_str, args))
            + b'tRs.')


def _payloads(marker: Path) -> dict:
    touch = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    return {
        'os.system': _call('os', 'system', f'touch {marker}'),
        'builtins.eval': _call('builtins', 'eval', touch),
        'builtins.exec': _call('builtins', 'exec', touch),
        # a numpy function that is not array reconstruction: runstring exec()s its argument
        'numpy.testing._private.utils.runstring':
            b'\x80\x02}' + _str('w') + _global('numpy.testing._private.utils', 'runstring')
            + b'(' + _str(touch) + b'}tRs.',
        'torch.load': _call('torch', 'load', str(marker)),
    }


def test_the_payloads_run_code_with_a_plain_unpickler(tmp_path):
    """The control: plain ``pickle.loads`` runs them, so the refusals below are real."""
    for name in ('builtins.eval', 'numpy.testing._private.utils.runstring'):
        marker = tmp_path / name
        pickle.loads(_payloads(marker)[name])
        assert marker.exists(), name


@pytest.mark.parametrize('name', list(_payloads(Path('m'))))
def test_any_other_global_is_refused_and_nothing_runs(name, tmp_path):
    marker = tmp_path / 'code-ran'
    path = tmp_path / 'Res2Net200_vd_26w_4s_ssld_pretrained.pdparams'
    path.write_bytes(_payloads(marker)[name])
    with pytest.raises(pickle.UnpicklingError, match=f'global {name} is refused'):
        read_pdparams(path)
    with pytest.raises(CheckpointError, match=f'{path.name} holds objects that the Paddle '
                       f'weights reader refuses, so nothing in it was run.*global {name}'):
        load_checkpoint(path)
    with pytest.raises(ConversionError, match='refuses'):
        convert_checkpoint(None, str(path), str(tmp_path / 'out.pth'), log=lambda s: None)
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()


def test_object_arrays_and_other_values_are_refused(tmp_path):
    path = tmp_path / 'o.pdparams'
    path.write_bytes(pickle.dumps({'w': np.array([1, None], dtype=object)}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match='only numeric arrays'):
        read_pdparams(path)
    path.write_bytes(pickle.dumps({'w': [1.0, 2.0]}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="entry 'w' is a list, not a numeric"):
        read_pdparams(path)
    path.write_bytes(pickle.dumps([np.zeros(2)], protocol=2))
    with pytest.raises(pickle.UnpicklingError, match='holds a list, not a dict'):
        read_pdparams(path)


def test_a_truncated_file_is_named(tmp_path):
    path = tmp_path / 'Res2Net200_vd_26w_4s_ssld_pretrained.pdparams'
    path.write_bytes(FIXTURE.read_bytes()[:50000])
    with pytest.raises(CheckpointError, match=r'ssld_pretrained\.pdparams is a bare pickle but '
                       r'could not be read as PaddlePaddle weights .*truncated or corrupt.*'
                       r'50000 bytes'):
        load_checkpoint(path)
    with pytest.raises(ConversionError, match='truncated'):
        convert_checkpoint('res2net', str(path), str(tmp_path / 'out.pth'), log=lambda s: None)
    path.write_bytes(b'')
    with pytest.raises(CheckpointError, match='is empty'):
        load_checkpoint(path)


def test_the_format_decides_not_the_name(tmp_path):
    """A PyTorch checkpoint named .pdparams is read by weights-only torch.load (zip and legacy
    formats)."""
    for legacy in (False, True):
        path = tmp_path / f'torch{legacy}.pdparams'
        torch.save({'w': torch.ones(2)}, path, _use_new_zipfile_serialization=not legacy)
        assert not is_paddle_pickle(path)
        assert torch.equal(load_checkpoint(path)['w'], torch.ones(2))
