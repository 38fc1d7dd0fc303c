"""``python -m mmfish.hub list|fetch|add|verify|where``: the names with their sources and pins,
prefetching, a file the user already has (identified, verified, cached so that ``mmfish://``
serves it offline; other bytes refused with exit status 1 and nothing cached), re-hashing the
cache, and the cached path."""
import shutil
import subprocess
import sys

import torch

from mmfish.hub import main
from mmfish.variants import VARIANTS


def test_list_shows_each_name_its_sources_pins_and_cache_state(zoo, capsys):
    assert main(['list', 'resnest50', 'mmfish://resnest14d']) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'mmfish://resnest50  resnest50-528c19ca.pth  (not cached)'
    assert out[1] == ('  1. https://github.com/zhanghang1989/ResNeSt/releases/download/'
                      'weights_step1/resnest50-528c19ca.pth  [github.com]  pin: sha256 prefix '
                      '528c19ca (its name)')
    assert out[5] == ('  5. https://huggingface.co/timm/resnest50d.in1k/resolve/main/'
                      'model.safetensors  [Hugging Face Hub]  pin: none')
    assert out[6].startswith('mmfish://resnest14d  gluon_resnest14-')
    assert main(['list', 'resnest15d']) == 2
    assert 'error: unknown name: resnest15d (did you mean resnest14d?)' in \
        capsys.readouterr().err


def test_fetch_then_where_then_verify(zoo, capsys):
    home, mirror, name, _ = zoo
    assert main(['where', 'resnest14d']) == 1
    assert 'error: mmfish://resnest14d is not cached' in capsys.readouterr().err
    assert main(['fetch', 'resnest14d']) == 0
    converted = home / 'checkpoints' / 'resnest14d_mmfish.pth'
    assert capsys.readouterr().out.endswith(f'mmfish://resnest14d: {converted}\n')
    assert main(['where', 'mmfish://resnest14d']) == 0
    assert capsys.readouterr().out == f'{converted}\n'
    assert main(['verify']) == 0
    assert f'ok {name}: sha256 ' in capsys.readouterr().out
    (home / 'originals' / name).write_bytes(b'damaged')
    assert main(['verify']) == 1
    captured = capsys.readouterr()
    assert f'BAD {name}: sha256 ' in captured.out and '1 bad' in captured.out
    assert 'error: 1 cached files do not match' in captured.err


def test_add_caches_a_file_by_its_name_and_mmfish_then_serves_it_offline(zoo, tmp_path,
                                                                        capsys, monkeypatch):
    home, mirror, name, official = zoo
    given = tmp_path / 'from-a-colleague'
    given.mkdir()
    shutil.move(str(mirror / name), given / name)
    monkeypatch.setenv('MMFISH_OFFLINE', '1')
    monkeypatch.delenv('MMFISH_MIRROR')
    assert main(['add', str(given / name)]) == 0
    out = capsys.readouterr().out
    assert f'{given / name}: mmfish://resnest14d (identified by its name)' in out
    assert 'added: mmfish://resnest14d is served from' in out
    from mmfish.hub import resolve
    loaded = torch.load(resolve('mmfish://resnest14d'), weights_only=True)
    assert torch.equal(loaded['state_dict']['backbone.layer1.0.conv1.weight'],
                       official['layer1.0.conv1.weight'])
    assert (home / 'originals' / name).read_bytes() == (given / name).read_bytes()


def test_add_refuses_other_bytes_and_caches_nothing(zoo, tmp_path, capsys):
    home, _, name, _ = zoo
    wrong = tmp_path / name
    wrong.write_bytes(b'\x00' * 1000)
    assert main(['add', str(wrong)]) == 1
    err = capsys.readouterr().err
    assert f"{wrong}: the file's sha256 is" in err and err.endswith('nothing was cached.\n')
    assert sorted(p.name for p in home.rglob('*') if p.is_file()) == [
        f'{name}.lock', 'resnest14d_mmfish.pth.lock']
    assert main(['add', str(tmp_path / 'missing.pth')]) == 1
    unknown = tmp_path / 'mystery.pth'
    torch.save({'w': torch.zeros(1)}, unknown)
    assert main(['add', str(unknown)]) == 1
    assert 'is none of the released files mmfish knows' in capsys.readouterr().err


def test_add_tells_a_fishnet_file_by_its_layout(tmp_path, capsys, monkeypatch):
    """FishNet's releases publish no digest: a file under another name is identified by its
    layout, which the converter checks (FishNet-99 here, not FishNet-150)."""
    from tests.weights.test_conversion import _random_official_checkpoint
    monkeypatch.setenv('MMFISH_HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('MMFISH_OFFLINE', '1')
    monkeypatch.delenv('MMFISH_MIRROR', raising=False)
    given = tmp_path / 'downloaded.tar'
    _random_official_checkpoint(VARIANTS['fishnet99'], given)
    assert main(['add', str(given)]) == 0
    out = capsys.readouterr().out
    assert 'mmfish://fishnet99 (identified by its layout (FishNet; checked by the converter))' \
        in out
    assert (tmp_path / 'home' / 'originals' / 'fishnet99_ckpt.tar').read_bytes() == \
        given.read_bytes()
    assert (tmp_path / 'home' / 'checkpoints' / 'fishnet99_mmfish.pth').is_file()


def test_the_module_runs_as_a_command():
    result = subprocess.run([sys.executable, '-m', 'mmfish.hub', 'where', 'nonsense'],
                            capture_output=True, text=True)
    assert result.returncode == 2 and 'error: unknown name: nonsense' in result.stderr
