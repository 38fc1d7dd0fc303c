"""``save_atomic``: the output is absent, the old file or the complete new one, never a part."""
import os

import pytest
import torch

from mmfish.checkpoint import save_atomic


@pytest.mark.parametrize('existing', [None, b'previous'], ids=['new', 'existing'])
@pytest.mark.parametrize('exception', [OSError('disk full'), KeyboardInterrupt()],
                         ids=['oserror', 'interrupt'])
def test_failure_mid_write_leaves_no_partial_file(tmp_path, monkeypatch, existing, exception):
    dst = tmp_path / 'out' / 'model.pth'
    if existing is not None:
        dst.parent.mkdir()
        dst.write_bytes(existing)
    real_save = torch.save
    written = []

    def failing_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)  # the whole file, then fail before the rename
        written.append(f.tell())
        f.write(b'trailing')
        raise exception

    monkeypatch.setattr(torch, 'save', failing_save)
    with pytest.raises(type(exception)):
        save_atomic({'state_dict': {'w': torch.ones(1000)}}, str(dst))
    assert written and written[0] > 4000  # the failure came after real data was written
    if existing is None:
        assert not dst.exists()
        assert os.listdir(dst.parent) == []  # no temporary file left either
    else:
        assert dst.read_bytes() == existing
        assert os.listdir(dst.parent) == ['model.pth']


def test_success_replaces_the_file(tmp_path):
    dst = tmp_path / 'model.pth'
    dst.write_bytes(b'previous')
    save_atomic({'w': torch.arange(3)}, str(dst))
    assert torch.equal(torch.load(dst)['w'], torch.arange(3))
    assert os.listdir(tmp_path) == ['model.pth']
