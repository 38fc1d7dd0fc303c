"""Released files, fetched once per machine and kept: from the cache, a mirror or the official
URL, verified, written atomically, one process at a time.

- the cache is ``$MMFISH_HOME`` (default ``~/.cache/mmfish``);
- ``$MMFISH_MIRROR``, where set, replaces every official URL: a URL prefix (``http(s)://``) or a
  local folder (a path or ``file://``) holding the files under their released names, for
  clusters without internet and for tests; any other form (``ftp://``, a folder that does not
  exist) is refused, naming the valid ones;
- a cached file's name is a plain file name (:func:`check_file_name`): a name that holds a
  separator, ``..`` or NUL, or that is empty, hidden or one of the cache's own (``.lock``,
  ``.sha256``, ``.part``), is refused before anything is read, written or asked for; a URL's
  last segment is unquoted once (:func:`url_file_name`) and refused when it still holds a
  ``%`` escape (a double-encoded name). Every file written (the part file, the file, its
  ``.sha256``, the lock file) must lie in the cache folder by its real path, and is opened
  without following a link, so a link in the cache cannot redirect a write;
- a download goes to a part file (``.<name>.<pid>.part``) that is renamed into place only once
  it is complete and verified (:func:`receive`): a name that carries a sha256 prefix
  (``resnest50-528c19ca.pth``, as ``torch.hub`` checks it) must match it; a file whose release
  publishes no digest must be a checkpoint mmfish reads, read in full (an HTML page, garbage, a
  compressed or truncated body is refused). A response with a ``Content-Encoding``, an invalid
  ``Content-Length`` or fewer bytes than it announced is refused. A file killed mid-download is
  never trusted, and the next fetch removes what it left;
- a download that stays below ``$MMFISH_MIN_RATE`` bytes per second on average (after the
  first ``$MMFISH_RATE_GRACE`` seconds) is given up, as is one that waits :data:`TIMEOUT`
  seconds for a byte;
- processes of one machine that ask for the same file at once take turns on a lock file
  (:func:`file_lock`): the first fetches and writes its pid, host and task into the lock file,
  the others say whom they wait for and give up after ``$MMFISH_LOCK_TIMEOUT`` seconds, naming
  the holder.
"""
import os.path as osp
from typing import Callable, Optional, Sequence

from .sources import Source, fetch_file, receive_from
from .transfer import (  # noqa: F401  (the names this module has always had)
    DEFAULT_GRACE,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_MIN_RATE,
    GRACE_ENV,
    HOME_ENV,
    LOCK_TIMEOUT_ENV,
    MIN_RATE_ENV,
    MIRROR_ENV,
    READABLE,
    RESERVED_SUFFIXES,
    TIMEOUT,
    TIMEOUT_ENV,
    DownloadError,
    SourceError,
    _by_hand,
    _reason,
    cache_file,
    cache_home,
    check_file_name,
    check_inside,
    discard_fetched,
    file_lock,
    lock_timeout,
    min_rate,
    mirror_entries,
    mirror_source,
    rate_grace,
    read_timeout,
    remove_cached,
    url_file_name,
)


def fetch(name: str, url: Optional[str], folder: str, log: Callable[[str], None] = print,
          progress: bool = True, converts: bool = True, copies: Sequence = ()) -> str:
    """The path of the released file ``name`` in ``folder``, fetched first when it is not
    there: from each of ``$MMFISH_MIRROR``'s entries, then from ``url``, then from ``copies``
    (:class:`~.sources.Source` s that serve it under the same name), in order
    (:func:`~.sources.fetch_file`). The name must be a plain file name
    (:func:`check_file_name`). What is fetched is verified (:func:`receive`) before it is
    kept: on a mismatch nothing is kept and :class:`DownloadError` says why; a file whose
    release published no digest is kept with its sha256 logged and written beside it
    (``<name>.sha256``). ``converts``: the file is one mmfish converts (the error of a failed
    fetch gives the command)."""
    path = cache_file(folder, name, url)
    if osp.isfile(path):
        return path
    sources = ([Source(url=url)] if url else []) + list(copies)
    if not sources and not mirror_entries():
        with file_lock(path, log, task=f'download of {name}'):
            if osp.isfile(path):
                return path
            raise DownloadError(_by_hand(name, folder, converts,
                                         f'{name} has no official download'))
    return fetch_file(name, sources, folder, log=log, progress=progress,
                      remedies=lambda problem: _by_hand(name, folder, converts, problem),
                      task=f'download of {url or name}').path


def receive(source: str, name: str, tmp: str, progress: bool = True) -> str:
    """Copy the file ``name`` from ``source`` (an ``http(s)://`` URL or a local path) into the
    new file ``tmp`` and verify it: the sha256 prefix its name carries, or, for a name without
    one, that mmfish reads it as a checkpoint. Return its sha256 (see
    :func:`~.sources.receive_from`, which this calls with a source of the released name)."""
    return receive_from(Source(url=source), name, tmp, progress)
