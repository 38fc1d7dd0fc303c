"""Released files fetched into the cache: from the official URL or ``$MMFISH_MIRROR`` (a
folder or a URL prefix), the sha256 in the name checked before anything is kept, one process
at a time, nothing half-written trusted, and an error that says what to do offline."""
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmfish.checkpoint.download import DownloadError, fetch

FETCH = ('import sys; from mmfish.checkpoint.download import fetch; '
         'fetch(sys.argv[1], sys.argv[2], sys.argv[3], progress=False)')


@pytest.fixture(autouse=True)
def _no_mirror(monkeypatch):
    monkeypatch.delenv('MMFISH_MIRROR', raising=False)


def _released(folder: Path, stem: str, size: int = 200_000, digest: bool = True):
    """A file named as releases are (``<stem>-<sha256 prefix>.pth``, or without a digest)."""
    data = os.urandom(size)
    sha = hashlib.sha256(data).hexdigest()
    name = f'{stem}-{sha[:8]}.pth' if digest else f'{stem}.tar'
    (folder / name).write_bytes(data)
    return name, sha


def _closed_port_url(name: str) -> str:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return f'http://127.0.0.1:{port}/{name}'


def test_a_url_is_fetched_once_verified_and_then_read_from_the_cache(file_server, tmp_path):
    name, sha = _released(file_server.root, 'model')
    cache, lines = tmp_path / 'cache', []
    path = fetch(name, f'{file_server.url}/{name}', str(cache), log=lines.append,
                 progress=False)
    assert Path(path).read_bytes() == (file_server.root / name).read_bytes()
    assert any(f'sha256 {sha} matches its name' in line for line in lines)
    file_server.close()  # offline from now on: the cache answers
    assert fetch(name, f'{file_server.url}/{name}', str(cache), progress=False) == path
    assert file_server.requests == {f'/{name}': 1}
    assert sorted(os.listdir(cache)) == [name, f'{name}.lock']


@pytest.mark.parametrize('kind', ['folder', 'file-url', 'url-prefix'])
def test_the_mirror_replaces_the_official_url(kind, file_server, tmp_path, monkeypatch):
    name, _ = _released(file_server.root, 'model')
    mirror = {'folder': str(file_server.root), 'file-url': file_server.root.as_uri(),
              'url-prefix': file_server.url + '/'}[kind]
    monkeypatch.setenv('MMFISH_MIRROR', mirror)
    path = fetch(name, _closed_port_url(name), str(tmp_path / 'cache'), progress=False)
    assert Path(path).read_bytes() == (file_server.root / name).read_bytes()
    assert file_server.requests == ({f'/{name}': 1} if kind == 'url-prefix' else {})


def test_a_file_whose_sha256_does_not_match_its_name_is_refused_and_nothing_kept(
        file_server, tmp_path):
    data = os.urandom(1000)
    name = 'resnest50-528c19ca.pth'  # a released name over other bytes
    (file_server.root / name).write_bytes(data)
    cache = tmp_path / 'cache'
    with pytest.raises(DownloadError) as info:
        fetch(name, f'{file_server.url}/{name}', str(cache), progress=False)
    assert str(info.value).endswith(
        f"the file's sha256 is {hashlib.sha256(data).hexdigest()}, but its name {name} says "
        'it begins with 528c19ca: the download is corrupt or the source serves another file. '
        'Nothing was kept; run again to download it anew')
    assert os.listdir(cache) == [f'{name}.lock']


def test_a_file_released_without_a_digest_is_kept_and_its_sha256_recorded(file_server,
                                                                         tmp_path):
    name, sha = _released(file_server.root, 'fishnet99_ckpt', digest=False)
    lines = []
    path = fetch(name, f'{file_server.url}/{name}?dl=1', str(tmp_path), log=lines.append,
                 progress=False)
    assert Path(path + '.sha256').read_text() == f'{sha}  {name}\n'
    assert any(f'sha256 {sha} (its release publishes no digest' in line for line in lines)


def test_a_download_cut_short_is_not_kept(file_server, tmp_path):
    name, _ = _released(file_server.root, 'model')
    file_server.truncate = 1000
    with pytest.raises(DownloadError, match='the download ended after 1000 of 200000 bytes'):
        fetch(name, f'{file_server.url}/{name}', str(tmp_path / 'cache'), progress=False)
    assert os.listdir(tmp_path / 'cache') == [f'{name}.lock']


@pytest.mark.parametrize('server', ['unreachable', 'not-found'])
def test_offline_the_error_names_the_url_the_file_and_what_to_do(server, file_server,
                                                                tmp_path):
    name = 'res2net50_26w_4s-06e79181.pth'
    url = _closed_port_url(name) if server == 'unreachable' else f'{file_server.url}/{name}'
    cache = tmp_path / 'cache'
    with pytest.raises(DownloadError) as info:
        fetch(name, url, str(cache), progress=False)
    reason = ('Connection refused' if server == 'unreachable' else
              'HTTP 404 File not found')
    assert str(info.value) == (
        f'cannot fetch {url} ({reason}). Without network, put the file {name} in a folder '
        f'named by $MMFISH_MIRROR (or under a URL prefix it names), or in {cache}; or convert '
        f'it by hand with python -m mmfish.convert {name} DST and give DST as the checkpoint')
    assert os.listdir(cache) == [f'{name}.lock']


def test_a_download_killed_midway_leaves_nothing_that_is_trusted(file_server, tmp_path):
    name, _ = _released(file_server.root, 'model', size=2 << 20)
    cache, url = tmp_path / 'cache', f'{file_server.url}/{name}'
    file_server.delay = 0.05  # 32 blocks of 64 KiB: about 1.6 s
    proc = subprocess.Popen([sys.executable, '-c', FETCH, name, url, str(cache)])
    part = cache / f'.{name}.{proc.pid}.part'
    deadline = time.monotonic() + 60
    while not (part.is_file() and part.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert part.is_file(), 'the download did not start'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (cache / name).exists() and part.is_file()
    file_server.delay, lines = 0.0, []
    path = fetch(name, url, str(cache), log=lines.append, progress=False)
    assert f'removed {part}, left by an interrupted write' in lines
    assert Path(path).read_bytes() == (file_server.root / name).read_bytes()
    assert sorted(os.listdir(cache)) == [name, f'{name}.lock']


def test_processes_asking_for_one_file_at_once_fetch_it_once(file_server, tmp_path):
    name, _ = _released(file_server.root, 'model', size=1 << 20)
    cache, url = tmp_path / 'cache', f'{file_server.url}/{name}'
    file_server.delay = 0.1  # 16 blocks: about 1.6 s, while the other process starts
    procs = [subprocess.Popen([sys.executable, '-c', FETCH, name, url, str(cache)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert file_server.requests == {f'/{name}': 1}
    assert sum('waiting for another process' in out for out in outputs) == 1
    assert (cache / name).read_bytes() == (file_server.root / name).read_bytes()


def test_a_cache_folder_that_cannot_be_written_is_named(tmp_path):
    blocker = tmp_path / 'home'
    blocker.write_text('a file where the cache folder would be')
    with pytest.raises(DownloadError, match=f'^cannot write the cache folder {blocker}/originals '
                                            r'\(Not a directory\): set \$MMFISH_HOME to a folder '
                                            'you can write'):
        fetch('model.pth', 'http://127.0.0.1:1/model.pth', str(blocker / 'originals'))
