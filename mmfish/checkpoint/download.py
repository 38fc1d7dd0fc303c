"""Released files, fetched once per machine and kept: from the cache, a mirror or the official
URL, verified against the sha256 their names carry, written atomically, one process at a time.

- the cache is ``$MMFISH_HOME`` (default ``~/.cache/mmfish``);
- ``$MMFISH_MIRROR``, where set, replaces every official URL: a URL prefix (``http(s)://``) or a
  local folder (a path or ``file://``) holding the files under their released names, for
  clusters without internet and for tests;
- a download goes to a part file (``.<name>.<pid>.part``) that is renamed into place only once
  it is complete and its sha256 matches the prefix the name carries (``resnest50-528c19ca.pth``,
  as ``torch.hub`` checks it); a file killed mid-download is never trusted, and the next fetch
  removes what it left;
- processes of one machine that ask for the same file at once take turns on a lock file: the
  first fetches, the others wait and then find it in the cache.
"""
import contextlib
import fcntl
import os
import os.path as osp
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Iterator, Optional

from .integrity import file_sha256, name_hash_prefix
from .io import CheckpointError, atomic_path, first_line, remove_stale_parts

HOME_ENV = 'MMFISH_HOME'
MIRROR_ENV = 'MMFISH_MIRROR'
#: seconds without a byte before a download is given up
TIMEOUT = 60


class DownloadError(CheckpointError):
    """A released file could not be fetched, or what was fetched is not that file."""


def cache_home() -> str:
    """``$MMFISH_HOME``, by default ``~/.cache/mmfish``."""
    return osp.abspath(osp.expanduser(os.environ.get(HOME_ENV) or '~/.cache/mmfish'))


def mirror_source(name: str) -> Optional[str]:
    """Where ``$MMFISH_MIRROR`` holds the file ``name``: a URL or a local path; None when no
    mirror is set."""
    mirror = os.environ.get(MIRROR_ENV, '').strip()
    if not mirror:
        return None
    if mirror.startswith(('http://', 'https://')):
        return mirror.rstrip('/') + '/' + urllib.parse.quote(name)
    if mirror.startswith('file://'):
        mirror = urllib.parse.unquote(urllib.parse.urlparse(mirror).path)
    return osp.join(osp.expanduser(mirror), name)


@contextlib.contextmanager
def file_lock(path: str, log: Callable[[str], None] = print) -> Iterator[None]:
    """Hold ``<path>.lock`` (an exclusive ``flock``, released by the system when the process
    ends, however it ends) while the block runs; say so when another process holds it."""
    try:
        os.makedirs(osp.dirname(path), exist_ok=True)
        f = open(path + '.lock', 'a')
    except OSError as exc:
        raise DownloadError(f'cannot write the cache folder {osp.dirname(path)} '
                            f'({_reason(exc)}): set ${HOME_ENV} to a folder you can write '
                            f'(default ~/.cache/mmfish)') from None
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f'waiting for another process that is preparing {path}')
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _copy_url(url: str, tmp: str, progress: bool) -> None:
    request = urllib.request.Request(url, headers={'User-Agent': 'mmfish'})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response, open(tmp, 'wb') as out:
        total = int(response.headers.get('Content-Length') or 0)
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=total or None, unit='B', unit_scale=True, unit_divisor=1024)
        try:
            for block in iter(lambda: response.read(1 << 20), b''):
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
    if total and osp.getsize(tmp) != total:
        raise DownloadError(f'{url}: the download ended after {osp.getsize(tmp)} of {total} '
                            f'bytes; run again to download it anew')


def fetch(name: str, url: Optional[str], folder: str, log: Callable[[str], None] = print,
          progress: bool = True, converts: bool = True) -> str:
    """The path of the released file ``name`` in ``folder``, fetched first when it is not
    there: from ``$MMFISH_MIRROR`` when set, else from ``url``. A name that carries a sha256
    prefix is checked against it before the file is kept (on a mismatch nothing is kept and
    :class:`DownloadError` gives both digests); a file whose release published no digest is
    kept with its sha256 logged and written beside it (``<name>.sha256``). ``converts``: the
    file is one mmfish converts (the error of a failed fetch gives the command)."""
    path = osp.join(folder, name)
    if osp.isfile(path):
        return path
    with file_lock(path, log):
        if osp.isfile(path):  # another process fetched it while this one waited
            return path
        remove_stale_parts(folder, log)
        source = mirror_source(name) or url
        if source is None:
            raise DownloadError(_by_hand(name, folder, converts,
                                         f'{name} has no official download'))
        log(f'fetching {source}')
        started = time.monotonic()
        with atomic_path(path, DownloadError) as tmp:
            try:
                if source.startswith(('http://', 'https://')):
                    _copy_url(source, tmp, progress)
                else:
                    shutil.copyfile(source, tmp)
            except OSError as exc:  # urllib's errors included
                raise DownloadError(_by_hand(name, folder, converts, f'cannot fetch {source} '
                                             f'({_reason(exc)})')) from None
            digest = file_sha256(tmp)
            expected = name_hash_prefix(name)
            if expected is not None and not digest.startswith(expected):
                raise DownloadError(
                    f'{source}: the file\'s sha256 is {digest}, but its name {name} says it '
                    f'begins with {expected}: the download is corrupt or the source serves '
                    f'another file. Nothing was kept; run again to download it anew')
        size = osp.getsize(path) / 2**20
        log(f'fetched {name} ({size:.1f} MiB in {time.monotonic() - started:.1f} s), sha256 '
            + (f'{digest} matches its name' if expected else
               f'{digest} (its release publishes no digest: recorded in {name}.sha256)'))
        if expected is None:
            with open(path + '.sha256', 'w') as f:
                f.write(f'{digest}  {name}\n')
    return path


def _reason(exc: OSError) -> str:
    """``HTTP 404 Not Found``, ``Connection refused``, ...: why a fetch failed."""
    if isinstance(exc, urllib.error.HTTPError):
        return f'HTTP {exc.code} {exc.reason}'
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason
    return getattr(exc, 'strerror', None) or first_line(exc)


def _by_hand(name: str, folder: str, converts: bool, problem: str) -> str:
    """The error for a file that could not be fetched: what to do without network."""
    return (f'{problem}. Without network, put the file {name} in a folder named by '
            f'${MIRROR_ENV} (or under a URL prefix it names), or in {folder}'
            + (f'; or convert it by hand with python -m mmfish.convert {name} DST and give DST '
               f'as the checkpoint' if converts else ''))
