"""A released file's sources tried in order: each failure a source meets (a closed port, a
parked page served with 200 OK, an HTTP error, no byte within the timeout, other bytes, a body
cut short) is skipped with one log line saying why, and the next source serves the file; when
every source fails, one error lists each with its reason, then the remedies. Hub copies are
fetched from ``<endpoint>/<repo>/resolve/<revision>/<file>`` and verified by their pin. Every
server is a loopback one."""
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmfish.checkpoint.download import DownloadError, fetch
from mmfish.checkpoint.sources import Source, fetch_file, hub_source

from tests.checkpoint.scripted_server import scripted_server as serve_scripted

scripted_server = pytest.fixture(serve_scripted)
PARKED = (b'<!DOCTYPE html>\n<html><head><title>This domain has expired</title></head>'
          b'<body>Renew it now</body></html>\n')
#: fetch argv[1] from argv[2], then from the same-name copy argv[4], into argv[3]
FETCH_CHAIN = ('import sys; from mmfish.checkpoint.download import fetch; '
               'from mmfish.checkpoint.sources import Source; '
               'fetch(sys.argv[1], sys.argv[2], sys.argv[3], progress=False, '
               'copies=[Source(url=sys.argv[4])])')


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for name in ('MMFISH_MIRROR', 'MMFISH_OFFLINE', 'MMFISH_ALLOW_UNPINNED', 'HF_ENDPOINT',
                 'HF_HUB_OFFLINE'):
        monkeypatch.delenv(name, raising=False)


def _release(size: int = 50_000):
    data = os.urandom(size)
    return f'model-{hashlib.sha256(data).hexdigest()[:8]}.pth', data


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return f'http://127.0.0.1:{s.getsockname()[1]}'


def _bad_source(kind: str, server, name: str, data: bytes):
    """A source of ``name`` that fails as ``kind`` says: its URL and the reason logged."""
    path = f'/{kind}/{name}'
    if kind == 'closed-port':
        url = f'{_closed_port()}/{name}'
        return url, f'cannot fetch {url} (Connection refused)'
    if kind == 'parked':
        url = server.answer(path, PARKED, headers={'Content-Type': 'text/html; charset=utf-8'})
        return url, (f'{url}: a web page, not a checkpoint: the host looks parked, or answers '
                     f'with an error or sign-in page (HTTP 200, text/html; charset=utf-8, '
                     f'{len(PARKED)} bytes beginning {PARKED[:40]!r}). Nothing was kept')
    if kind in ('404', '403', '500'):
        url = server.answer(path, b'no', status=int(kind))
        reason = {'404': 'Not Found', '403': 'Forbidden', '500': 'Internal Server Error'}[kind]
        return url, f'cannot fetch {url} (HTTP {kind} {reason})'
    if kind == 'timeout':
        url = server.answer(path, data[:100], byte_delay=2.0)
        return url, f'cannot fetch {url} (timed out: no byte for 0.3 s ($MMFISH_TIMEOUT))'
    if kind == 'wrong-bytes':
        other = os.urandom(len(data))
        url = server.answer(path, other)
        return url, (f"{url}: the file's sha256 is {hashlib.sha256(other).hexdigest()}, but "
                     f'its name {name} says it begins with {name[6:14]}: the download is '
                     f'corrupt or the source serves another file. Nothing was kept; run again '
                     f'to download it anew')
    assert kind == 'truncated'
    url = server.answer(path, data, send=len(data) // 2)
    return url, (f'{url}: the download ended after {len(data) // 2} of {len(data)} bytes (a '
                 f'truncated body); run again to download it anew')


KINDS = ['closed-port', 'parked', '404', '403', '500', 'timeout', 'wrong-bytes', 'truncated']


@pytest.mark.parametrize('kind', KINDS)
def test_a_failing_source_is_skipped_saying_why_and_the_next_serves_the_file(
        kind, scripted_server, file_server, tmp_path, monkeypatch):
    monkeypatch.setenv('MMFISH_TIMEOUT', '0.3')
    name, data = _release()
    (file_server.root / name).write_bytes(data)
    bad, reason = _bad_source(kind, scripted_server, name, data)
    good, lines = f'{file_server.url}/{name}', []
    started = time.monotonic()
    path = fetch(name, bad, str(tmp_path / 'cache'), log=lines.append, progress=False,
                 copies=[Source(url=good, host='a copy')])
    assert time.monotonic() - started < 10
    assert Path(path).read_bytes() == data
    assert lines[0] == f'fetching {bad}'
    assert lines[1] == f'skipped source 1 of 2: {reason}; trying the next (1 left)'
    assert lines[2] == f'fetching {good} (source 2 of 2: a copy)'
    assert re.fullmatch(rf'fetched {re.escape(name)} \([\d.]+ MiB in [\d.]+ s\) from '
                        rf'{re.escape(good)} \(source 2 of 2\), sha256 '
                        rf'{hashlib.sha256(data).hexdigest()} matches its name', lines[3])
    assert sorted(os.listdir(tmp_path / 'cache')) == [name, f'{name}.lock']


def test_when_every_source_fails_one_error_lists_each_and_the_remedies(scripted_server,
                                                                        tmp_path, monkeypatch):
    monkeypatch.setenv('MMFISH_TIMEOUT', '0.3')
    name, data = _release()
    bad = [_bad_source(kind, scripted_server, name, data) for kind in KINDS]
    cache = tmp_path / 'cache'
    unpinned = hub_source('timm/model.in1k')
    with pytest.raises(DownloadError) as info:
        fetch(name, bad[0][0], str(cache), progress=False,
              copies=[Source(url=url) for url, _ in bad[1:]] + [unpinned])
    listing = '\n'.join(f'  - {reason}' for _, reason in bad)
    assert str(info.value) == (
        f'no source could serve {name} ({len(KINDS)} tried, 1 not tried):\n{listing}\n'
        f'  - https://huggingface.co/timm/model.in1k/resolve/main/model.safetensors: not tried: '
        'no pin (neither its sha256 nor an immutable commit is recorded); '
        'MMFISH_ALLOW_UNPINNED=1 tries it, printing its sha256 and recording it with the '
        f'converted file\nWithout network, put the file {name} in a folder named by '
        f'$MMFISH_MIRROR (or under a URL prefix it names), or in {cache}; or convert it by '
        f'hand with python -m mmfish.convert {name} DST and give DST as the checkpoint')
    assert os.listdir(cache) == [f'{name}.lock']


def _safetensors(path: Path) -> bytes:
    import torch
    from safetensors.torch import save_file
    save_file({'conv.weight': torch.randn(4, 3, 3, 3)}, str(path))
    return path.read_bytes()


@pytest.mark.parametrize('pin', ['sha256', 'commit', 'wrong-sha256', 'unpinned', 'opt-in'])
def test_a_hub_copy_is_fetched_from_its_resolve_path_and_verified_by_its_pin(
        pin, scripted_server, tmp_path, monkeypatch):
    """``<HF_ENDPOINT>/timm/<id>/resolve/<revision>/model.safetensors``: other bytes than the
    released file, so its pin is its full sha256 or an immutable commit (then the layout check
    decides); a wrong pin gives both digests; a copy without a pin is tried only on request."""
    data = _safetensors(tmp_path / 'copy.safetensors')
    digest, commit = hashlib.sha256(data).hexdigest(), 'd73b44deaf5b068a3632893bc82400b7e9285169'
    revision = commit if pin in ('commit', 'sha256') else 'main'
    scripted_server.answer(f'/timm/model.in1k/resolve/{revision}/model.safetensors', data,
                           headers={'X-Repo-Commit': commit})
    monkeypatch.setenv('HF_ENDPOINT', scripted_server.url + '/')
    if pin == 'opt-in':
        monkeypatch.setenv('MMFISH_ALLOW_UNPINNED', '1')
    sha = {'sha256': digest, 'wrong-sha256': '0' * 64}.get(pin, '')
    source = hub_source('timm/model.in1k', revision, sha)
    checked, lines, cache = [], [], tmp_path / 'cache'

    def verify(path, source, sha256):
        checked.append((Path(path).read_bytes() == data, sha256))

    location = (f'{scripted_server.url}/timm/model.in1k/resolve/{revision}/'
                'model.safetensors')
    assert source.location == location
    if pin in ('wrong-sha256', 'unpinned'):
        with pytest.raises(DownloadError) as info:
            fetch_file('model-0123abcd.pth', [source], str(cache), log=lines.append,
                       progress=False, verify=verify)
        assert str(info.value) == ({
            'wrong-sha256': f"{location}: the file's sha256 is {digest} ({len(data)} bytes), "
                            f'but its pin is {"0" * 64}: the source serves another file, or a '
                            'changed one. Nothing was kept',
            'unpinned': 'no source could serve model-0123abcd.pth (0 tried, 1 not tried):\n'
                        f'  - {location}: not tried: no pin (neither its sha256 nor an '
                        'immutable commit is recorded); MMFISH_ALLOW_UNPINNED=1 tries it, '
                        'printing its sha256 and recording it with the converted file\n'}[pin])
        assert os.listdir(cache) == ['model-0123abcd.pth.lock']
        assert scripted_server.requests == ({} if pin == 'unpinned' else
                                            {f'/timm/model.in1k/resolve/{revision}/'
                                             'model.safetensors': 1})
        return
    got = fetch_file('model-0123abcd.pth', [source], str(cache), log=lines.append,
                     progress=False, verify=verify)
    assert got.path == str(cache / 'timm--model.in1k.safetensors') and got.fetched
    assert Path(got.path).read_bytes() == data and got.sha256 == digest
    assert got.pin == {'sha256': ('sha256', digest), 'commit': ('commit', commit),
                       'opt-in': (None, '')}[pin]
    assert checked == [(True, digest)]  # the layout check saw the bytes before they were kept
    said = {'sha256': 'matches its pin',
            'commit': f'(Hub commit {commit}; recorded in timm--model.in1k.safetensors.sha256)',
            'opt-in': '(NO PIN: compare it with a trusted copy; recorded in '
                      'timm--model.in1k.safetensors.sha256)'}[pin]
    assert lines[-1].endswith(f'sha256 {digest} {said}')
    if pin == 'opt-in':
        assert f'{location} has no pin: tried because MMFISH_ALLOW_UNPINNED=1' in lines


def test_a_hub_commit_other_than_the_pinned_one_is_refused(scripted_server, tmp_path,
                                                          monkeypatch):
    data = _safetensors(tmp_path / 'copy.safetensors')
    commit = 'a' * 40
    scripted_server.answer(f'/timm/m/resolve/{commit}/model.safetensors', data,
                           headers={'X-Repo-Commit': 'b' * 40})
    monkeypatch.setenv('HF_ENDPOINT', scripted_server.url)
    with pytest.raises(DownloadError, match=f'the Hub answered with commit {"b" * 40}, not the '
                                            f'pinned {commit}. Nothing was kept'):
        fetch_file('m-0123abcd.pth', [hub_source('timm/m', commit)], str(tmp_path),
                   progress=False)


def test_mirrors_are_tried_in_order_before_the_built_in_sources(file_server, tmp_path,
                                                                monkeypatch):
    """``$MMFISH_MIRROR`` with a folder that lacks the file and a URL prefix that has it: the
    folder is skipped, the prefix serves, the official URL (a closed port) is never tried."""
    name, data = _release()
    (file_server.root / name).write_bytes(data)
    empty = tmp_path / 'empty mirror'
    empty.mkdir()
    monkeypatch.setenv('MMFISH_MIRROR', f'{empty.as_uri()}  {file_server.url}/')
    lines = []
    path = fetch(name, f'{_closed_port()}/{name}', str(tmp_path / 'cache'), log=lines.append,
                 progress=False)
    assert Path(path).read_bytes() == data
    assert lines[1].startswith(f'skipped source 1 of 3: cannot fetch {empty / name} (')
    assert lines[2] == f'fetching {file_server.url}/{name} (source 2 of 3: $MMFISH_MIRROR)'
    assert file_server.requests == {f'/{name}': 1}


def test_offline_no_built_in_source_is_tried_and_without_a_mirror_it_fails_at_once(
        scripted_server, tmp_path, monkeypatch):
    name, data = _release()
    url = scripted_server.answer(f'/{name}', data)
    monkeypatch.setenv('MMFISH_OFFLINE', '1')
    cache = tmp_path / 'cache'
    with pytest.raises(DownloadError) as info:
        fetch(name, url, str(cache), progress=False)
    assert str(info.value).startswith(
        f'{name} is not in the cache ({cache}) and MMFISH_OFFLINE=1 tries no built-in source; '
        f'no mirror is set ($MMFISH_MIRROR). Without network, put the file {name} in a folder '
        'named by $MMFISH_MIRROR')
    assert scripted_server.requests == {}
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    (mirror / name).write_bytes(data)
    monkeypatch.setenv('MMFISH_MIRROR', str(mirror))
    assert Path(fetch(name, url, str(cache), progress=False)).read_bytes() == data
    assert scripted_server.requests == {}


def test_two_processes_falling_through_at_once_fetch_the_good_copy_once(
        scripted_server, file_server, tmp_path):
    name, data = _release(1 << 20)
    (file_server.root / name).write_bytes(data)
    parked = scripted_server.answer(f'/{name}', PARKED, headers={'Content-Type': 'text/html'})
    cache, good = tmp_path / 'cache', f'{file_server.url}/{name}'
    file_server.delay = 0.1  # 16 blocks: about 1.6 s, while the other process starts
    procs = [subprocess.Popen([sys.executable, '-c', FETCH_CHAIN, name, parked, str(cache), good],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert file_server.requests == {f'/{name}': 1} and scripted_server.requests == {f'/{name}': 1}
    assert sum('waiting for another process' in out for out in outputs) == 1
    assert sum('a web page, not a checkpoint: the host looks parked' in out
               for out in outputs) == 1
    assert (cache / name).read_bytes() == data


def test_a_kill_while_the_next_source_downloads_leaves_nothing_trusted(
        scripted_server, file_server, tmp_path):
    name, data = _release(2 << 20)
    (file_server.root / name).write_bytes(data)
    parked = scripted_server.answer(f'/{name}', PARKED, headers={'Content-Type': 'text/html'})
    cache, good = tmp_path / 'cache', f'{file_server.url}/{name}'
    file_server.delay = 0.05  # 32 blocks of 64 KiB: about 1.6 s
    proc = subprocess.Popen([sys.executable, '-c', FETCH_CHAIN, name, parked, str(cache), good])
    part = cache / f'.{name}.{proc.pid}.part'
    deadline = time.monotonic() + 60
    while not (part.is_file() and part.stat().st_size and file_server.requests) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert part.is_file() and file_server.requests, 'the second source was not reached'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (cache / name).exists()
    file_server.delay, lines = 0.0, []
    path = fetch(name, parked, str(cache), log=lines.append, progress=False,
                 copies=[Source(url=good)])
    assert f'removed {part}, left by an interrupted write' in lines
    assert Path(path).read_bytes() == data
    assert sorted(os.listdir(cache)) == [name, f'{name}.lock']
