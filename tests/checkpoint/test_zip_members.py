"""A zip checkpoint that holds two members of one name (two ``data.pkl``, one of them a pickle
that calls ``os.system``) is refused before anything in it is unpickled, naming the repeated
names: zip readers disagree on which member counts, so the pickle that mmfish checks need not
be the one that torch loads. Through mmfish's loader and ``load_from`` in MMEngine's Runner."""
import re

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint

from mmfish.checkpoint import CheckpointError, load_checkpoint
from mmfish.checkpoint.formats import DuplicateMemberError, check_declared_sizes

from tests.weights.test_load_report import TinyClassifier, _runner
from tests.checkpoint.payloads import system_call, with_repeated_member


@pytest.mark.parametrize('name, first', [('data.pkl', False), ('data.pkl', True),
                                         ('DATA.PKL', False), ('data/0', False)],
                         ids=['second', 'first', 'other-case', 'storage'])
def test_repeated_member_names_are_refused_before_unpickling(name, first, tmp_path):
    marker = tmp_path / 'code-ran'
    state = {'state_dict': TinyClassifier().state_dict(), 'meta': {}}
    path = with_repeated_member(tmp_path / 'twice.pth', state, name,
                                system_call(marker) if name.endswith('.pkl') else bytes(64),
                                first)
    shown = (r"'[^']+/data\.pkl' 2 times" if name == 'data.pkl' else
             r"'[^']+/data\.pkl' and '[^']+/DATA\.PKL'" if name == 'DATA.PKL' else
             r"'[^']+/data/0' 2 times")
    message = (rf'^{re.escape(str(path))}: the zip archive holds members of one name more than '
               rf'once \({shown}\); zip readers disagree on which of them counts')
    with pytest.raises(DuplicateMemberError, match=message):
        check_declared_sizes(str(path))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(str(path))
    with pytest.raises(CheckpointError, match=message):  # load_from, --resume
        _load_checkpoint(str(path), map_location='cpu')
    runner, _ = _runner(tmp_path / 'run', path)
    initial = {k: v.clone() for k, v in runner.model.state_dict().items()}
    with pytest.raises(CheckpointError, match=message):
        runner.load_or_resume()
    assert all(torch.equal(v, initial[k]) for k, v in runner.model.state_dict().items())
    assert not marker.exists()


def test_without_the_check_zip_readers_disagree(tmp_path):
    """What the refusal prevents: for some layouts PyTorch's weights-only reader loads one
    ``data.pkl`` without a word, while Python's zipfile (which mmfish's checks of the pickle
    use) reads the other; which one torch takes depends on the other names."""
    import pickle
    import zipfile
    extra = pickle.dumps({'x': 5}, protocol=2)
    readings = set()
    for tensors in range(1, 5):
        for first in (False, True):
            path = with_repeated_member(tmp_path / f'{tensors}{first}.pth',
                                        {f'w{i}': torch.ones(2) for i in range(tensors)},
                                        'data.pkl', extra, first)
            by_torch = torch.load(path, weights_only=True)
            with zipfile.ZipFile(path) as z:
                name = next(n for n in z.namelist() if n.endswith('/data.pkl'))
                by_python = 'extra' if z.read(name) == extra else 'torch'
            readings.add(('extra' if by_torch == {'x': 5} else 'torch', by_python))
    assert ('torch', 'extra') in readings  # torch loads its own, the checks read the other
    assert ('extra', 'extra') in readings  # or torch loads the extra one
