"""The byte-level side of fetching released files: the cache's names and places, the settings
(``$MMFISH_HOME``, ``$MMFISH_MIRROR``'s entries, the minimum rate, the timeouts), one process at
a time (:func:`file_lock`), copying a URL or a file into a part file with every check that
needs no pin, and the messages. :mod:`.download` (the public face, :func:`~.download.fetch`) and
:mod:`.sources` (the sources of a file, their pins and the chain) build on it."""
import contextlib
import fcntl
import json
import os
import os.path as osp
import re
import shlex
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Iterator, Optional

from .formats import FORMATS, sniff
from .io import (
    CheckpointError,
    atomic_path,
    first_line,
    load_checkpoint,
    not_a_file,
)

HOME_ENV = 'MMFISH_HOME'
MIRROR_ENV = 'MMFISH_MIRROR'
#: the lowest average rate of a download, in bytes per second (``10K``, ``1M``; 0: no minimum)
MIN_RATE_ENV = 'MMFISH_MIN_RATE'
#: the seconds from a download's start before :data:`MIN_RATE_ENV` applies
GRACE_ENV = 'MMFISH_RATE_GRACE'
#: the seconds a process waits for another that holds a file's lock
LOCK_TIMEOUT_ENV = 'MMFISH_LOCK_TIMEOUT'
DEFAULT_MIN_RATE = 10 << 10
DEFAULT_GRACE = 30.0
DEFAULT_LOCK_TIMEOUT = 3600.0
#: seconds without a byte before a download is given up (``$MMFISH_TIMEOUT`` overrides it)
TIMEOUT = 60
TIMEOUT_ENV = 'MMFISH_TIMEOUT'
#: the kinds of file (:func:`~.formats.sniff`) that mmfish reads as checkpoints: what a file
#: released without a digest must be to be kept
READABLE = ('torch-zip', 'torch-legacy', 'pickle', 'safetensors')
#: the endings of the cache's own files beside a cached file
RESERVED_SUFFIXES = ('.lock', '.sha256', '.part')
_ESCAPE = re.compile(r'%[0-9A-Fa-f]{2}')
_SCHEME = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*)://')
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_MIRROR_FORMS = ('an http:// or https:// URL prefix, a file:// URL or a local folder, holding '
                 'the released files under their released names')


class DownloadError(CheckpointError):
    """A released file could not be fetched, or what was fetched is not that file."""


class SourceError(DownloadError):
    """A source that could not be read (no network, an HTTP error, no such file in the
    mirror): another source may still have the file."""


def cache_home() -> str:
    """``$MMFISH_HOME``, by default ``~/.cache/mmfish``."""
    return osp.abspath(osp.expanduser(os.environ.get(HOME_ENV) or '~/.cache/mmfish'))


# -- settings ---------------------------------------------------------------------------------
def _env_number(name: str, default: float, example: str, units: bool = False) -> float:
    """The non-negative number in ``$name`` (with a K, M or G suffix where ``units``), or
    ``default`` when it is unset or empty."""
    text = os.environ.get(name, '').strip()
    if not text:
        return default
    m = re.fullmatch(r'(\d+(?:\.\d*)?|\.\d+)\s*([KMG]?)(?:i?B)?' if units else
                     r'(\d+(?:\.\d*)?|\.\d+)()', text, re.IGNORECASE)
    if not m:
        raise DownloadError(f'{name}={text!r} is invalid: give a number, e.g. {name}={example}'
                            + (' (bytes per second, with a K, M or G suffix; 0 turns the '
                               'check off)' if units else ' (seconds)'))
    return float(m.group(1)) * 1024 ** ' KMG'.index(m.group(2).upper() or ' ')


def min_rate() -> float:
    """``$MMFISH_MIN_RATE``: the lowest average rate of a download, bytes per second."""
    return _env_number(MIN_RATE_ENV, DEFAULT_MIN_RATE, '10K', units=True)


def rate_grace() -> float:
    """``$MMFISH_RATE_GRACE``: the seconds from a download's start before the rate counts."""
    return _env_number(GRACE_ENV, DEFAULT_GRACE, '30')


def read_timeout() -> float:
    """``$MMFISH_TIMEOUT``: the seconds without a byte before a download is given up."""
    return _env_number(TIMEOUT_ENV, TIMEOUT, '60') or TIMEOUT


def lock_timeout() -> float:
    """``$MMFISH_LOCK_TIMEOUT``: the seconds a process waits for a lock another one holds."""
    return _env_number(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT, '3600')


# -- names and places -------------------------------------------------------------------------
def url_file_name(url: str) -> str:
    """The file name that ``url`` (``http(s)://``) ends with, unquoted once. A name that still
    holds a ``%`` escape after that (a double-encoded URL) raises :class:`DownloadError`; the
    name itself is checked by :func:`check_file_name` where it is used."""
    last = urllib.parse.urlparse(url).path.rsplit('/', 1)[-1]
    name = urllib.parse.unquote(last)
    if _ESCAPE.search(name):
        raise DownloadError(
            f'{url}: the file name {name!r} that the URL ends with still holds a %-escape '
            f'once unquoted (a double-encoded name): a checkpoint URL must end with a plain '
            f'file name, such as resnet50-0676ba61.pth, which is the name it is cached under')
    return name


def check_file_name(name: str, source: Optional[str] = None) -> str:
    """``name`` when it is a plain file name that a cache folder may hold; otherwise raise
    :class:`DownloadError` saying why (``source``: the URL it came from, for the message)."""
    problem = None
    if not name:
        problem = 'is empty (the URL ends with "/")' if source else 'is empty'
    elif name in ('.', '..'):
        problem = 'names a folder'
    elif '\0' in name:
        problem = 'holds a NUL character'
    elif '/' in name or '\\' in name:
        problem = 'holds a path separator (/ or \\)'
    elif '..' in name:
        problem = "holds '..'"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = 'holds a control character'
    elif name.startswith('.'):
        problem = "begins with '.' (the cache's part files are named so)"
    elif name.endswith(RESERVED_SUFFIXES):
        problem = (f'ends with one of {", ".join(RESERVED_SUFFIXES)}, the endings of the '
                   f"cache's own files")
    if problem is None:
        return name
    where = (f'{source}: the file name {name!r} that the URL ends with' if source else
             f'the file name {name!r}')
    raise DownloadError(f'{where} {problem}: a cached file must have a plain file name, such as '
                        f'resnet50-0676ba61.pth; nothing was fetched or written')


def cache_file(folder: str, name: str, source: Optional[str] = None) -> str:
    """The path of the file ``name`` in the cache ``folder``, once the name is checked
    (:func:`check_file_name`)."""
    return osp.join(folder, check_file_name(name, source))


def check_inside(folder: str, path: str) -> str:
    """``path`` when its real path lies directly in the real path of ``folder`` (a link
    there that leads elsewhere is refused); raise :class:`DownloadError` otherwise."""
    real_folder, real = osp.realpath(folder), osp.realpath(path)
    if osp.dirname(real) != real_folder:
        raise DownloadError(f'refusing to write {path}: it leads to {real}, outside the cache '
                            f'folder {real_folder} (a link in the cache?); remove {path}')
    return path


def _create(path: str) -> int:
    """A new file at ``path`` (a part file of this process) opened for writing: what was
    there before, a link included, is removed first, and the file is created exclusively and
    without following a link, so it lies in its folder whatever the folder held."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)


def _mirror_entry(entry: str, value: str) -> str:
    """One entry of ``$MMFISH_MIRROR``: an ``http(s)://`` prefix as it is, a folder (a path or
    ``file://``) as its path; any other form raises :class:`DownloadError`."""
    m = _SCHEME.match(entry)
    scheme = m.group(1).lower() if m else None
    if scheme in ('http', 'https'):
        return entry
    if scheme == 'file':
        folder = urllib.parse.unquote(urllib.parse.urlparse(entry).path)
    elif scheme is not None:
        raise DownloadError(f'${MIRROR_ENV}={value}: mmfish does not fetch {scheme}:// URLs; '
                            f'give {_MIRROR_FORMS}')
    else:
        folder = osp.expanduser(entry)
    if not osp.isdir(folder):
        what = ('does not exist' if not osp.exists(folder) else
                f'is {not_a_file(folder) or "a file"}, not a folder')
        raise DownloadError(f'${MIRROR_ENV}={value}: {folder} {what}; give {_MIRROR_FORMS}')
    return folder


def mirror_entries() -> list:
    """``$MMFISH_MIRROR``'s entries, in order: URL prefixes (``http(s)://``) and folders,
    separated by whitespace (a value that names one existing folder is that folder, spaces and
    all). An entry of another form raises :class:`DownloadError`."""
    value = os.environ.get(MIRROR_ENV, '').strip()
    if not value:
        return []
    if osp.isdir(osp.expanduser(value)):
        return [osp.expanduser(value)]
    return [_mirror_entry(entry, value) for entry in value.split()]


def mirror_source(name: str) -> Optional[str]:
    """Where the first entry of ``$MMFISH_MIRROR`` holds the file ``name``: a URL or a local
    path; None when no mirror is set. A mirror of another form raises :class:`DownloadError`."""
    entries = mirror_entries()
    if not entries:
        return None
    if entries[0].startswith(('http://', 'https://')):
        return entries[0].rstrip('/') + '/' + urllib.parse.quote(name)
    return osp.join(entries[0], name)


# -- one process at a time --------------------------------------------------------------------
def _holder(fd: int) -> Optional[dict]:
    """Who holds the lock file ``fd`` (pid, host, since, task), as it wrote them."""
    try:
        text = os.pread(fd, 4096, 0).decode('utf-8', 'replace').strip()
        holder = json.loads(text) if text else None
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _describe(holder: Optional[dict]) -> str:
    if not holder:
        return 'a process that has not written its name yet'
    return (f"process {holder.get('pid')} on {holder.get('host')} (since "
            f"{holder.get('since')}: {holder.get('task')})")


@contextlib.contextmanager
def file_lock(path: str, log: Callable[[str], None] = print,
              task: Optional[str] = None) -> Iterator[None]:
    """Hold ``<path>.lock`` (an exclusive ``flock``, released by the system when the process
    ends, however it ends) while the block runs, with this process's pid, host and ``task``
    written in it. When another process holds it, say whom this one waits for, and give up
    after ``$MMFISH_LOCK_TIMEOUT`` seconds with a :class:`DownloadError` naming the holder."""
    folder, lock = osp.dirname(path) or '.', path + '.lock'
    try:
        os.makedirs(folder, exist_ok=True)
        check_inside(folder, lock)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | _NOFOLLOW | getattr(os, 'O_CLOEXEC', 0),
                     0o666)
    except OSError as exc:
        raise DownloadError(f'cannot write the cache folder {folder} '
                            f'({_reason(exc)}): set ${HOME_ENV} to a folder you can write '
                            f'(default ~/.cache/mmfish)') from None
    try:
        if not _try_lock(fd):
            _wait_for(fd, path, lock, log)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(dict(
            pid=os.getpid(), host=socket.gethostname(), since=time.strftime('%Y-%m-%d %H:%M:%S'),
            task=task or f'preparing {path}')).encode() + b'\n', 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait_for(fd: int, path: str, lock: str, log: Callable[[str], None]) -> None:
    limit = lock_timeout()
    log(f'waiting for another process that is preparing {path}: '
        f'{_describe(_holder(fd))}; giving up after {limit:g} s (${LOCK_TIMEOUT_ENV})')
    deadline, pause = time.monotonic() + limit, 0.02
    while not _try_lock(fd):
        left = deadline - time.monotonic()
        if left <= 0:
            holder = _holder(fd)
            stop = f' (kill {holder["pid"]})' if holder and holder.get('pid') else ''
            raise DownloadError(
                f'gave up waiting for {path} after {limit:g} s: its lock {lock} is held by '
                f'{_describe(holder)}. Wait for it to finish, stop it if it hangs{stop}, or '
                f'give it longer with ${LOCK_TIMEOUT_ENV} (seconds)')
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.2)


# -- fetching and verifying one file ----------------------------------------------------------
def _content_length(url: str, value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    if not re.fullmatch(r'\s*[0-9]+\s*', value):
        raise DownloadError(f'{url}: the server announced "Content-Length: {value}", which is '
                            f'not a number of bytes, so the download cannot be checked for '
                            f'completeness; nothing was kept. The server or a proxy is '
                            f'misconfigured: try a mirror (${MIRROR_ENV})')
    return int(value)


def _copy_url(url: str, out, progress: bool) -> dict:
    """Download ``url`` into the open file ``out``, refusing what cannot be checked, and
    giving up below the minimum rate; the response's ``status``, ``content_type`` and (from the
    Hugging Face Hub) ``commit``."""
    rate, grace = min_rate(), rate_grace()
    request = urllib.request.Request(url, headers={'User-Agent': 'mmfish',
                                                   'Accept-Encoding': 'identity'})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=read_timeout()) as response:
        answered = dict(status=response.status,
                        content_type=response.headers.get('Content-Type'),
                        commit=response.headers.get('X-Repo-Commit'))
        encoding = (response.headers.get('Content-Encoding') or 'identity').strip().lower()
        if encoding != 'identity':
            raise DownloadError(f'{url}: the server sent the file with "Content-Encoding: '
                                f'{encoding}" though mmfish asked for it unencoded (identity); '
                                f'nothing was kept. The server or a proxy is misconfigured: '
                                f'try a mirror (${MIRROR_ENV})')
        total = _content_length(url, response.headers.get('Content-Length'))
        bar, received = None, 0
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=total or None, unit='B', unit_scale=True, unit_divisor=1024)
        try:
            while True:
                block = response.read1(1 << 20)
                if not block:
                    break
                out.write(block)
                received += len(block)
                if bar is not None:
                    bar.update(len(block))
                elapsed = time.monotonic() - started
                if rate and elapsed > grace and received < rate * elapsed:
                    raise DownloadError(
                        f'{url}: the download is too slow: {received} bytes in {elapsed:.1f} '
                        f's ({received / elapsed:.0f} bytes/s on average), below the minimum '
                        f'of {rate:.0f} bytes/s (${MIN_RATE_ENV}, after the first {grace:g} s, '
                        f'${GRACE_ENV}); nothing was kept. Try a mirror (${MIRROR_ENV}), or '
                        f'lower ${MIN_RATE_ENV} (0 turns the check off)')
        finally:
            if bar is not None:
                bar.close()
    if total is not None and received != total:
        raise DownloadError(f'{url}: the download ended after {received} of {total} '
                            f'bytes (a truncated body); run again to download it anew')
    return answered


def _copy_file(source: str, out) -> None:
    what = not_a_file(source)
    if what is not None:
        raise SourceError(f'cannot fetch {source} (it is {what}, not a file)')
    try:
        with open(source, 'rb') as src:
            shutil.copyfileobj(src, out, 1 << 20)
    except OSError as exc:
        raise SourceError(f'cannot fetch {source} ({_reason(exc)})') from None


def _check_readable(source: str, name: str, tmp: str) -> None:
    """Refuse a file released without a digest unless mmfish reads it as a checkpoint."""
    kind = sniff(tmp)
    if kind not in READABLE:
        with open(tmp, 'rb') as f:
            head = f.read(512).lstrip()
        hint = (' (it begins like an HTML or XML page: an error, login or download page?)'
                if head[:1] == b'<' else '')
        problem = f'is {FORMATS[kind]}{hint}, not a checkpoint that mmfish reads'
    else:
        try:
            load_checkpoint(tmp, DownloadError)
            return
        except DownloadError as exc:
            problem = f'cannot be read: {str(exc).replace(tmp, name)}'
    raise DownloadError(f'{source}: what was fetched ({osp.getsize(tmp)} bytes) {problem}; its '
                        f'release publishes no digest, so mmfish checks that it reads as a '
                        f'checkpoint. Nothing was kept; check that the source serves the file '
                        f'{name}, then run again')


def _write_digest(folder: str, path: str, digest: str, name: str) -> None:
    """``<path>.sha256``, written atomically and never through a link."""
    record = check_inside(folder, path + '.sha256')
    with atomic_path(record, DownloadError) as tmp:
        with os.fdopen(_create(tmp), 'w') as f:
            f.write(f'{digest}  {name}\n')


def remove_cached(path: str) -> None:
    """Remove the cached file ``path`` and the ``.sha256`` beside it, where they are."""
    for leftover in (path, path + '.sha256'):
        with contextlib.suppress(FileNotFoundError):
            os.remove(leftover)


def discard_fetched(path: str, fetched: bool, exc: BaseException, action: str) -> str:
    """The message for a cached file ``path`` that could not be used (``exc``; ``action``:
    ``read``, ``converted``): a file this run ``fetched`` is removed with its ``.sha256``, so
    that the next run fetches it anew; a file an earlier run kept is named, with how to clear
    it."""
    if not fetched:
        return (f'{exc}. The cached file {path} cannot be {action}: delete it (rm '
                f'{shlex.quote(path)}) to fetch it anew')
    remove_cached(path)
    return (f'{exc}. The file just fetched cannot be {action}, so it was removed from the '
            f'cache ({path}): check that the source serves the released file, then run again')


def _reason(exc: Exception) -> str:
    """``HTTP 404 Not Found``, ``Connection refused``, ...: why a fetch failed."""
    if isinstance(exc, urllib.error.HTTPError):
        return f'HTTP {exc.code} {exc.reason}'
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason
    if isinstance(exc, socket.timeout):
        return f'timed out: no byte for {read_timeout():g} s (${TIMEOUT_ENV})'
    return getattr(exc, 'strerror', None) or first_line(exc)


def _by_hand(name: str, folder: str, converts: bool, problem: str) -> str:
    """The error for a file that could not be fetched: what to do without network."""
    return (f'{problem}{"" if problem.endswith(chr(10)) else ". "}Without network, put the '
            f'file {name} in a folder named by ${MIRROR_ENV} (or under a URL prefix it names), '
            f'or in {folder}'
            + (f'; or convert it by hand with python -m mmfish.convert {name} DST and give DST '
               f'as the checkpoint' if converts else ''))
