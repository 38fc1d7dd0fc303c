"""``mmfish://<variant>`` names: fetched from ``$MMFISH_MIRROR`` (standing in for the official
URL), verified, converted as ``python -m mmfish.convert`` converts, cached under
``$MMFISH_HOME``, and loaded by ``init_cfg=Pretrained``, ``load_from`` and MMEngine's loader."""
import dataclasses
import gzip
import hashlib
import re
import subprocess
import sys

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint

from mmfish.checkpoint import CheckpointError
from mmfish.checkpoint.integrity import file_sha256
from mmfish.hub import converted_path, resolve
from mmfish.models import ResNeSt
from mmfish.variants import TRAINED, VARIANTS

from tests.checkpoint.scripted_server import scripted_server as serve_scripted
from tests.conftest import build_in_scope
from tests.weights.test_conversion import _random_official_checkpoint

scripted_server = pytest.fixture(serve_scripted)
#: resolve mmfish://resnest14d in another process, with the test's row of the variants table
RESOLVE = """import dataclasses, sys
from mmfish.variants import TRAINED, VARIANTS
VARIANTS['resnest14d'] = dataclasses.replace(VARIANTS['resnest14d'], files=(sys.argv[1], ))
import mmfish.hub
mmfish.hub.resolve('mmfish://resnest14d', log=print)
"""


def test_pretrained_fetches_converts_caches_and_then_reads_the_cache(zoo, tmp_path):
    home, mirror, name, official = zoo
    model = ResNeSt(depth=14, init_cfg=dict(type='Pretrained', checkpoint='mmfish://resnest14d',
                                            prefix='backbone.'))
    model.init_weights()
    assert torch.equal(model.state_dict()['layer1.0.conv1.weight'],
                       official['layer1.0.conv1.weight'])
    assert (home / 'originals' / name).is_file()
    assert converted_path('resnest14d') == str(home / 'checkpoints' / 'resnest14d_mmfish.pth')
    mirror.rename(tmp_path / 'gone')  # no source any more: the cache answers
    loaded = _load_checkpoint('mmfish://resnest14d', map_location='cpu')  # load_from's path
    assert loaded['meta']['mmfish']['variant'] == 'resnest14d'
    assert torch.equal(loaded['state_dict']['backbone.layer1.0.conv1.weight'],
                       official['layer1.0.conv1.weight'])


def test_a_released_name_over_other_bytes_is_refused_and_nothing_cached(zoo, monkeypatch):
    home, mirror, name, _ = zoo
    monkeypatch.setenv('MMFISH_OFFLINE', '1')  # the mirror alone
    released = 'gluon_resnest14-9c8fe254.pth'
    (mirror / name).rename(mirror / released)
    monkeypatch.setitem(VARIANTS, 'resnest14d',
                        dataclasses.replace(VARIANTS['resnest14d'], files=(released, )))
    with pytest.raises(CheckpointError, match=f'but its name {released} says it begins with '
                                              '9c8fe254'):
        resolve('mmfish://resnest14d')
    assert sorted(p.name for p in home.rglob('*') if p.is_file()) == [
        f'{released}.lock', 'resnest14d_mmfish.pth.lock']


def test_unknown_names_and_models_without_weights_are_refused_with_the_valid_names(zoo):
    with pytest.raises(CheckpointError, match=r"^mmfish://resnest101e: unknown model "
                                              r"'resnest101e' \(did you mean "
                                              r"'mmfish://resnest101'\?\); valid names: "
                                              r'mmfish://fishnet99, mmfish://fishnet150, '):
        resolve('mmfish://resnest101e')
    with pytest.raises(CheckpointError, match='^mmfish://fishnet201: fishnet201 has no '
                                              'released weights'):
        resolve('mmfish://fishnet201')


def test_processes_asking_at_once_convert_once(zoo):
    """The ranks of a distributed run on one machine: one fetches and converts, the others
    wait for it and read the cache."""
    home, _, name, _ = zoo
    procs = [subprocess.Popen([sys.executable, '-c', RESOLVE, name], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sum(out.count('converting ') for out in outputs) == 1
    assert sum(out.count('fetching ') for out in outputs) == 1
    assert (home / 'checkpoints' / 'resnest14d_mmfish.pth').is_file()


def test_a_trained_model_converts_whole_into_its_toolbox_folder(tmp_path, monkeypatch):
    """``mmfish://<toolbox>/<model>``: a classifier that mmpretrain published (its mmcv 1.x
    runner's meta, a Res2Net in mmpretrain's layout), fetched under its released name,
    converted whole with its mmfish config recorded, cached under the toolbox's folder."""
    home, mirror = tmp_path / 'home', tmp_path / 'mirror'
    mirror.mkdir()
    monkeypatch.setenv('MMFISH_HOME', str(home))
    monkeypatch.setenv('MMFISH_MIRROR', str(mirror))
    torch.manual_seed(0)
    backbone = dict(type='Res2Net', depth=50, scales=8, base_width=14, deep_stem=False,
                    avg_down=False, base_channels=16, stem_channels=16)
    peer = build_in_scope('mmpretrain', backbone)
    state = {f'backbone.{k}': v for k, v in peer.state_dict().items()}
    state.update({'head.fc.weight': torch.rand(10, 512), 'head.fc.bias': torch.rand(10)})
    standin = mirror / 'standin.pth'
    torch.save({'meta': {'mmcls_version': '0.16.0', 'config': 'model = dict(backbone=dict('
                         "type='Res2Net', depth=50))"}, 'state_dict': state}, standin)
    name = 'mmpretrain/res2net50-w14-s8_3rdparty_8xb32_in1k'
    row = TRAINED[name]
    file = f'res2net50-w14-s8_3rdparty_8xb32_in1k_20210927-{file_sha256(standin)[:8]}.pth'
    standin.rename(mirror / file)
    monkeypatch.setitem(TRAINED, name, dataclasses.replace(
        row, url=row.url.rsplit('/', 1)[0] + '/' + file))
    path = resolve(f'mmfish://{name}')
    assert path == converted_path(name) == str(
        home / 'checkpoints' / 'mmpretrain' / 'res2net50-w14-s8_3rdparty_8xb32_in1k_mmfish.pth')
    loaded = _load_checkpoint(f'mmfish://{name}', map_location='cpu')
    meta = loaded['meta']['mmfish']
    assert meta['trained'] == name and meta['config'] == row.config
    assert meta['decided']['split_style']['value'] == 'official'
    assert meta['num_classes'] == 10 and len(loaded['state_dict']) == len(state)
    assert torch.equal(loaded['state_dict']['head.fc.weight'], state['head.fc.weight'])


@pytest.fixture(scope='module')
def fishnet_release(tmp_path_factory):
    """A stand-in for FishNet-99's released file (no published digest), in its official
    layout with random values: its bytes."""
    path = tmp_path_factory.mktemp('fishnet') / 'fishnet99_ckpt.tar'
    _random_official_checkpoint(VARIANTS['fishnet99'], path)
    return path.read_bytes()


def _poisons(good: bytes) -> dict:
    """What a source may serve in place of a released file: its body, the response headers a
    server sends with it, and the refusal (the gzip body holds the file's start: compressing
    all of it takes seconds, and the refusal does not depend on what it holds)."""
    html = b'<!DOCTYPE html>\n<html><body>Sign in to download</body></html>\n'
    return {
        'garbage': (b'\x00garbage' * 100, {}, 'is no format mmfish knows, not a checkpoint that '
                                              'mmfish reads'),
        'html': (html, {'Content-Type': 'text/html'},
                 'is no format mmfish knows (it begins like an HTML or XML page: an error, '
                 'login or download page?), not a checkpoint that mmfish reads'),
        'gzip': (gzip.compress(good[:1 << 16]), {'Content-Encoding': 'gzip'}, None),
        'half': (good[:len(good) // 2], {'Content-Length': str(len(good))}, None),
    }


@pytest.mark.parametrize('mirror', ['server', 'folder'])
@pytest.mark.parametrize('poison', ['garbage', 'html', 'gzip', 'half'])
def test_a_file_without_a_digest_is_kept_only_when_it_reads_as_a_checkpoint(
        poison, mirror, fishnet_release, scripted_server, tmp_path, monkeypatch):
    """FishNet's releases publish no digest: garbage, an HTML page served with 200 OK, a
    gzip-encoded body and half the file are refused, and nothing is left in the cache."""
    home, folder = tmp_path / 'home', tmp_path / 'mirror'
    folder.mkdir()
    monkeypatch.setenv('MMFISH_HOME', str(home))
    monkeypatch.setenv('MMFISH_OFFLINE', '1')  # the mirror alone
    body, headers, problem = _poisons(fishnet_release)[poison]
    name, size = 'fishnet99_ckpt.tar', len(body)
    if mirror == 'server':
        source = scripted_server.answer(f'/{name}', body, headers=headers)
        monkeypatch.setenv('MMFISH_MIRROR', scripted_server.url)
    else:
        source = str(folder / name)
        (folder / name).write_bytes(body)
        monkeypatch.setenv('MMFISH_MIRROR', str(folder))
    if poison == 'gzip':
        problem = ('the server sent the file with "Content-Encoding: gzip"' if mirror == 'server'
                   else 'is a gzip-compressed file, not a checkpoint that mmfish reads')
    if poison == 'half':
        problem = (f'the download ended after {size} of {len(fishnet_release)} bytes'
                   if mirror == 'server' else 'cannot be read: fishnet99_ckpt.tar could not be '
                                              'read as a PyTorch checkpoint')
    if poison == 'html' and mirror == 'server':  # a page served with 200 OK
        problem = ('a web page, not a checkpoint: the host looks parked, or answers with an '
                   'error or sign-in page (HTTP 200, text/html, 62 bytes')
    if problem.startswith(('is ', 'cannot')):
        problem = f'what was fetched ({size} bytes) {problem}'
    with pytest.raises(CheckpointError, match=re.escape(f'{source}: {problem}')):
        resolve('mmfish://fishnet99')
    assert sorted(p.name for p in home.rglob('*') if p.is_file()) == [
        f'{name}.lock', 'fishnet99_mmfish.pth.lock']


def test_an_unconvertible_file_is_not_kept_and_a_good_mirror_then_works(
        fishnet_release, tmp_path, monkeypatch):
    """A checkpoint that reads but is not FishNet-99's (another model's weights under the
    released name): the converter's layout check refuses it before it is cached, so nothing is
    kept (no original, no .sha256), and the next call, with a good mirror, fetches anew and
    converts."""
    home, mirror = tmp_path / 'home', tmp_path / 'mirror'
    mirror.mkdir()
    monkeypatch.setenv('MMFISH_HOME', str(home))
    monkeypatch.setenv('MMFISH_MIRROR', str(mirror))
    monkeypatch.setenv('MMFISH_OFFLINE', '1')  # the mirror alone
    original = home / 'originals' / 'fishnet99_ckpt.tar'
    torch.save({'state_dict': {'conv.weight': torch.zeros(2, 3, 3, 3)}},
               mirror / 'fishnet99_ckpt.tar')
    with pytest.raises(CheckpointError, match=re.escape(
            f'  - {mirror / "fishnet99_ckpt.tar"}: what was fetched (') + r'\d+ bytes, sha256 '
            r'[0-9a-f]{64}\) is not fishnet99_ckpt\.tar: fishnet99_ckpt\.tar: 1 keys could not '
            r'be placed in a FishNet model: conv\.weight'):
        resolve('mmfish://fishnet99')
    assert not original.exists() and not (home / 'originals' / 'fishnet99_ckpt.tar.sha256'
                                          ).exists()
    assert [p.name for p in (home / 'checkpoints').iterdir()] == ['fishnet99_mmfish.pth.lock']
    (mirror / 'fishnet99_ckpt.tar').write_bytes(fishnet_release)
    path = resolve('mmfish://fishnet99')
    assert path == converted_path('fishnet99') and original.read_bytes() == fishnet_release
    assert (home / 'originals' / 'fishnet99_ckpt.tar.sha256').read_text().startswith(
        hashlib.sha256(fishnet_release).hexdigest())
    fetched = torch.load(path, weights_only=True)['meta']['mmfish']['fetched']
    assert fetched == dict(source=str(mirror / 'fishnet99_ckpt.tar'), pin='layout', pin_value='',
                           sha256=hashlib.sha256(fishnet_release).hexdigest(),
                           host='$MMFISH_MIRROR')


def test_a_bad_file_already_in_the_cache_names_itself_and_how_to_clear_it(tmp_path,
                                                                         monkeypatch):
    """A file an earlier run kept (a poisoned original, a damaged converted file): the error
    names it and says to delete it."""
    home = tmp_path / 'home'
    monkeypatch.setenv('MMFISH_HOME', str(home))
    monkeypatch.delenv('MMFISH_MIRROR', raising=False)
    original = home / 'originals' / 'fishnet99_ckpt.tar'
    original.parent.mkdir(parents=True)
    original.write_bytes(b'<html>an old error page</html>')
    with pytest.raises(CheckpointError, match=re.escape(
            f'. The cached file {original} cannot be converted: delete it (rm {original}) to '
            'fetch it anew')):
        resolve('mmfish://fishnet99')
    assert original.exists()  # the user's to delete: it may be the only copy
    converted = home / 'checkpoints' / 'fishnet150_mmfish.pth'
    converted.write_bytes(b'damaged')
    with pytest.raises(CheckpointError, match=re.escape(
            f'. The cached file {converted} cannot be read: delete it (rm {converted}) to '
            'convert it anew')):
        _load_checkpoint('mmfish://fishnet150', map_location='cpu')
