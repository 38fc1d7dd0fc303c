"""Released files fetched into the cache: from the official URL or ``$MMFISH_MIRROR`` (a
folder or a URL prefix), the sha256 in the name checked before anything is kept, one process
at a time, nothing half-written trusted, and an error that says what to do offline."""
import gzip
import hashlib
import io
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mmfish.checkpoint.download import DownloadError, fetch

from tests.checkpoint.scripted_server import scripted_server as serve_scripted

scripted_server = pytest.fixture(serve_scripted)
FETCH = ('import sys; from mmfish.checkpoint.download import fetch; '
         'fetch(sys.argv[1], sys.argv[2], sys.argv[3], progress=False)')


@pytest.fixture(autouse=True)
def _no_mirror(monkeypatch):
    monkeypatch.delenv('MMFISH_MIRROR', raising=False)


def _released(folder: Path, stem: str, size: int = 200_000, digest: bool = True):
    """A file named as releases are (``<stem>-<sha256 prefix>.pth``, or without a digest: then
    a checkpoint, which is what such a file must be to be kept)."""
    data = os.urandom(size)
    if not digest:
        buffer = io.BytesIO()
        torch.save({'conv.weight': torch.randn(size // 4)}, buffer)
        data = buffer.getvalue()
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


def _hold_lock(path: str, url: str, held) -> None:
    """Hold the lock of ``path`` as a fetch of ``url`` does, say so, and keep it until killed."""
    from mmfish.checkpoint.download import file_lock
    with file_lock(path, log=lambda line: None, task=f'download of {url}'):
        held.set()
        time.sleep(120)


def test_a_download_that_trickles_is_given_up_below_the_minimum_rate(scripted_server,
                                                                     tmp_path, monkeypatch):
    """One byte every 0.05 s (20 bytes/s) against a minimum of 200 bytes/s after 0.5 s: given
    up after about half a second, where the per-read timeout alone would let it run 500 s."""
    url = scripted_server.answer('/model.pth', os.urandom(10_000), byte_delay=0.05)
    monkeypatch.setenv('MMFISH_MIN_RATE', '200')
    monkeypatch.setenv('MMFISH_RATE_GRACE', '0.5')
    cache, started = tmp_path / 'cache', time.monotonic()
    with pytest.raises(DownloadError, match=rf'^{url}: the download is too slow: \d+ bytes in '
                                            r'[\d.]+ s \(\d+ bytes/s on average\), below the '
                                            r'minimum of 200 bytes/s \(\$MMFISH_MIN_RATE, after '
                                            r'the first 0\.5 s, \$MMFISH_RATE_GRACE\); nothing '
                                            'was kept'):
        fetch('model.pth', url, str(cache), progress=False)
    assert time.monotonic() - started < 5
    assert os.listdir(cache) == ['model.pth.lock']


@pytest.mark.parametrize('value', ['fast', '-1', '10X'])
def test_an_invalid_minimum_rate_is_refused_with_an_example(value, tmp_path, monkeypatch):
    monkeypatch.setenv('MMFISH_MIN_RATE', value)
    with pytest.raises(DownloadError, match=f"^MMFISH_MIN_RATE='{value}' is invalid: give a "
                                            r'number, e.g. MMFISH_MIN_RATE=10K \(bytes per '
                                            r'second, with a K, M or G suffix; 0 turns the '
                                            r'check off\)'):
        fetch('model.pth', 'http://127.0.0.1:1/model.pth', str(tmp_path), progress=False)


def test_a_lock_wait_is_bounded_and_names_the_holder(tmp_path, monkeypatch):
    """A second process finds the file's lock held (by a process that hangs): it says whom it
    waits for, and after $MMFISH_LOCK_TIMEOUT gives up naming the holder's pid and host."""
    cache, url = tmp_path / 'cache', 'http://127.0.0.1:1/model.pth'
    fork = multiprocessing.get_context('fork')  # a second process, without importing anew
    held = fork.Event()
    holder = fork.Process(target=_hold_lock, args=(str(cache / 'model.pth'), url, held),
                          daemon=True)
    holder.start()
    try:
        assert held.wait(30)
        monkeypatch.setenv('MMFISH_LOCK_TIMEOUT', '0.5')
        lines, started = [], time.monotonic()
        who = (rf'process {holder.pid} on {socket.gethostname()} \(since [-0-9: ]+: download '
               rf'of {url}\)')
        with pytest.raises(DownloadError, match=(
                rf'^gave up waiting for {cache / "model.pth"} after 0.5 s: its lock '
                rf'{cache / "model.pth.lock"} is held by {who}. Wait for it to finish, stop it '
                rf'if it hangs \(kill {holder.pid}\), or give it longer with '
                r'\$MMFISH_LOCK_TIMEOUT \(seconds\)$')):
            fetch('model.pth', url, str(cache), log=lines.append, progress=False)
        assert time.monotonic() - started < 5
        assert len(lines) == 1 and re.fullmatch(
            f'waiting for another process that is preparing {cache / "model.pth"}: {who}; '
            r'giving up after 0.5 s \(\$MMFISH_LOCK_TIMEOUT\)', lines[0])
    finally:
        holder.kill()
        holder.join()


@pytest.mark.parametrize('length, problem', [
    ('abc', 'the server announced "Content-Length: abc", which is not a number of bytes'),
    ('-5', 'the server announced "Content-Length: -5", which is not a number of bytes'),
    ('2000', 'the download ended after 1000 of 2000 bytes'),
])
def test_a_content_length_that_is_wrong_is_named(length, problem, scripted_server, tmp_path):
    url = scripted_server.answer('/model.pth', os.urandom(1000),
                                 headers={'Content-Length': length, 'Connection': 'close'})
    with pytest.raises(DownloadError, match=f'^{re.escape(f"{url}: {problem}")}'):
        fetch('model.pth', url, str(tmp_path / 'cache'), progress=False)
    assert os.listdir(tmp_path / 'cache') == ['model.pth.lock']


def test_an_encoded_response_is_refused(scripted_server, tmp_path):
    (tmp_path / 'files').mkdir()
    name, _ = _released(tmp_path / 'files', 'model')
    data = (tmp_path / 'files' / name).read_bytes()
    url = scripted_server.answer(f'/{name}', gzip.compress(data),
                                 headers={'Content-Encoding': 'gzip'})
    with pytest.raises(DownloadError, match=f'^{url}: the server sent the file with '
                                            '"Content-Encoding: gzip" though mmfish asked for it '
                                            r'unencoded \(identity\); nothing was kept'):
        fetch(name, url, str(tmp_path / 'cache'), progress=False)
    assert os.listdir(tmp_path / 'cache') == [f'{name}.lock']


@pytest.mark.parametrize('mirror, what', [
    ('ftp://127.0.0.1/models', 'mmfish does not fetch ftp:// URLs'),
    ('s3://bucket/models', 'mmfish does not fetch s3:// URLs'),
    ('{tmp}/missing', '{tmp}/missing does not exist'),
    ('{tmp}/a-file', '{tmp}/a-file is a file, not a folder'),
])
def test_a_mirror_of_another_form_is_refused_naming_the_valid_forms(mirror, what, tmp_path,
                                                                   monkeypatch):
    (tmp_path / 'a-file').write_text('')
    mirror = mirror.format(tmp=tmp_path)
    monkeypatch.setenv('MMFISH_MIRROR', mirror)
    with pytest.raises(DownloadError, match=re.escape(
            f'$MMFISH_MIRROR={mirror}: {what.format(tmp=tmp_path)}; give an http:// or '
            'https:// URL prefix, a file:// URL or a local folder, holding the released files '
            'under their released names')):
        fetch('model.pth', 'http://127.0.0.1:1/model.pth', str(tmp_path / 'cache'),
              progress=False)


@pytest.mark.parametrize('kind', ['directory', 'fifo'])
def test_a_mirror_entry_that_is_not_a_file_says_what_it_is(kind, tmp_path, monkeypatch):
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    name = 'res2net50_26w_4s-06e79181.pth'
    if kind == 'directory':
        (mirror / name).mkdir()
    else:
        os.mkfifo(mirror / name)
    monkeypatch.setenv('MMFISH_MIRROR', str(mirror))
    what = 'a directory' if kind == 'directory' else 'a FIFO (named pipe)'
    cache = tmp_path / 'cache'
    with pytest.raises(DownloadError) as info:
        fetch(name, 'http://127.0.0.1:1/x.pth', str(cache), progress=False)
    assert str(info.value) == (
        f'no source could serve {name} (2 tried, 0 not tried):\n'
        f'  - cannot fetch {mirror / name} (it is {what}, not a file)\n'
        '  - cannot fetch http://127.0.0.1:1/x.pth (Connection refused)\n'
        f'Without network, put the file {name} in a folder named by $MMFISH_MIRROR (or under '
        f'a URL prefix it names), or in {cache}; or convert it by hand with python -m '
        f'mmfish.convert {name} DST and give DST as the checkpoint')


@pytest.mark.parametrize('kind', ['torch-zip', 'torch-legacy', 'pickle', 'safetensors'])
def test_a_file_without_a_digest_is_kept_in_each_format_mmfish_reads(kind, tmp_path,
                                                                   monkeypatch):
    """PyTorch's zip and legacy formats (FishNet's releases), PaddlePaddle's .pdparams
    (PaddleClas' Res2Net-200) and safetensors read in full, so they are kept."""
    from safetensors.torch import save_file

    from mmfish.checkpoint.formats import sniff
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    name, state = f'model_{kind}.bin', {'conv.weight': torch.randn(8, 3, 3, 3)}
    if kind == 'pickle':
        (mirror / name).write_bytes(
            (Path(__file__).parents[1] / 'data/official/paddle_res2net200_vd_w16.pdparams')
            .read_bytes())
    elif kind == 'safetensors':
        save_file(state, str(mirror / name))
    else:
        torch.save(state, mirror / name, _use_new_zipfile_serialization=kind == 'torch-zip')
    assert sniff(str(mirror / name)) == kind
    monkeypatch.setenv('MMFISH_MIRROR', str(mirror))
    path = fetch(name, None, str(tmp_path / 'cache'), progress=False)
    assert Path(path).read_bytes() == (mirror / name).read_bytes()
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert Path(path + '.sha256').read_text() == f'{digest}  {name}\n'
