"""Where a released file comes from: its sources, in order, each with the pin that verifies
what it serves, and the chain that tries them one after the other.

A :class:`Source` is a URL (the authors' or toolbox's, or a copy under the same file name on
another host) or a Hugging Face Hub file (``<endpoint>/<repo>/resolve/<revision>/<file>``,
``$HF_ENDPOINT`` honoured). Its pin (:meth:`Source.pin`) is what the bytes it serves must
match before anything is kept, converted or cached:

- ``name``: the sha256 prefix the released name carries (``resnest50-528c19ca.pth``), for the
  official URL and every copy under the same name;
- ``sha256``: the full sha256 of the file the source serves (a Hub copy is other bytes than the
  original, safetensors, so the name's digest does not apply to it);
- ``commit``: a Hub file at an immutable revision (a 40-hex commit); what it serves must read as
  a checkpoint and pass the caller's layout check (``verify``: the converter's);
- ``layout``: a released file without a published digest (FishNet's, PaddleClas'): it must read
  as a checkpoint and pass the caller's layout check;
- none: a source whose bytes nothing recorded pins. It is never tried unless
  ``$MMFISH_ALLOW_UNPINNED=1``; then its sha256 is printed, it must still pass the layout check,
  and the caller records the sha256 with the converted file.

:func:`fetch_file` tries ``$MMFISH_MIRROR``'s entries first (one or more folders or URL
prefixes, separated by whitespace, each holding files under their released names), then the
built-in sources, in order. ``MMFISH_OFFLINE=1`` tries no built-in source (mirrors and the cache
only); ``HF_HUB_OFFLINE=1`` no Hub source. A source that fails is skipped with one log line that
says why (connection refused, no byte for the timeout, an HTTP status, a web page where a
checkpoint should be, a digest that does not match, a truncated body), and the next one is
tried; when every source fails, one error lists each source and why, then the remedies.

This module imports no model: the layout check is a callback the caller passes
(:mod:`mmfish.weights.hub` passes the converter).
"""
import http.client
import os
import os.path as osp
import re
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from .integrity import file_sha256, name_hash_prefix
from .io import CheckpointError, atomic_path, remove_stale_parts
from .transfer import (
    MIRROR_ENV,
    DownloadError,
    SourceError,
    _check_readable,
    _copy_file,
    _copy_url,
    _create,
    _reason,
    _write_digest,
    cache_file,
    check_inside,
    file_lock,
    mirror_entries,
    url_file_name,
)

__all__ = ['Source', 'Fetched', 'fetch_file', 'same_path_copies', 'hub_source', 'copy_source',
           'timm_hub_copy', 'UNCONFIRMED_PIN',
           'OFFLINE_ENV', 'UNPINNED_ENV', 'HUB_ENDPOINT_ENV', 'HUB_OFFLINE_ENV', 'SAME_PATH']

#: no built-in source is tried (mirrors and the cache only)
OFFLINE_ENV = 'MMFISH_OFFLINE'
#: sources without a pin are tried (their sha256 printed and recorded)
UNPINNED_ENV = 'MMFISH_ALLOW_UNPINNED'
#: the Hugging Face Hub endpoint (a mirror of the Hub where huggingface.co is blocked)
HUB_ENDPOINT_ENV = 'HF_ENDPOINT'
HUB_OFFLINE_ENV = 'HF_HUB_OFFLINE'
DEFAULT_HUB_ENDPOINT = 'https://huggingface.co'
_COMMIT = re.compile(r'[0-9a-f]{40}')
_SHA256 = re.compile(r'[0-9a-f]{64}')

#: hosts that serve the same files under the same paths as another host: each URL under a key
#: is also tried under each of its prefixes. OpenMMLab's older bucket holds the paths of
#: download.openmmlab.com (cited by the toolboxes' older configs).
SAME_PATH = {
    'https://download.openmmlab.com/': ('https://open-mmlab.s3.ap-northeast-2.amazonaws.com/', ),
}

#: what a pin is, for lists and messages
PIN_KINDS = {'name': 'the sha256 prefix in its name', 'sha256': 'its full sha256',
             'commit': 'an immutable Hub commit, and the layout check',
             'layout': 'the layout check (its release publishes no digest)',
             None: 'no pin'}


def _on(name: str) -> bool:
    return os.environ.get(name, '').strip().lower() in ('1', 'true', 'yes', 'on')


@dataclass(frozen=True)
class Source:
    """One place a released file can be fetched from, and what verifies it.

    Either ``url`` (an ``http(s)://`` URL or a local path) or ``hub`` (a Hugging Face Hub
    repository, ``timm/resnest14d.gluon_in1k``: its ``filename`` at ``revision``)."""
    url: str = ''
    hub: str = ''
    revision: str = 'main'
    filename: str = 'model.safetensors'
    #: the full sha256 of what the source serves, where it is known
    sha256: str = ''
    #: who serves it (``the authors``, ``timm's GitHub release``, ``$MMFISH_MIRROR``)
    host: str = ''
    #: where the URL and the pin come from (docs/weights.md lists it)
    evidence: str = ''
    #: False: the pin is recorded from one report only, not confirmed by a second record
    confirmed: bool = True
    #: the name to cache what it serves under, where that is not the released name (a local
    #: copy of a Hub file, given to ``python -m mmfish.hub add``)
    cache_as: str = ''

    def __post_init__(self):
        if bool(self.url) == bool(self.hub):
            raise ValueError(f'a Source is a url or a hub repository, not both or neither: '
                             f'{self!r}')
        if self.sha256 and not _SHA256.fullmatch(self.sha256):
            raise ValueError(f'{self.sha256!r} is not a sha256 (64 lowercase hex digits)')

    @property
    def location(self) -> str:
        """The URL (or path) fetched: a Hub file under ``$HF_ENDPOINT``."""
        if not self.hub:
            return self.url
        endpoint = os.environ.get(HUB_ENDPOINT_ENV, '').strip() or DEFAULT_HUB_ENDPOINT
        return (f'{endpoint.rstrip("/")}/{self.hub}/resolve/{self.revision}/'
                f'{urllib.parse.quote(self.filename)}')

    def same_name(self, released: str) -> bool:
        """Whether the source serves the released file itself (a URL or a path, whatever its
        last segment), rather than a Hub copy of other bytes."""
        if self.cache_as:
            return self.cache_as == released
        return not self.hub or osp.basename(self.filename) == released

    def cached_name(self, released: str) -> str:
        """The name the file is cached under: the released name, or for a Hub copy
        ``<owner>--<repo>.<extension>`` (``timm--resnest14d.gluon_in1k.safetensors``)."""
        if self.same_name(released):
            return released
        if self.cache_as:
            return self.cache_as
        return f'{self.hub.replace("/", "--")}.{self.filename.rsplit(".", 1)[-1]}'

    def pin(self, released: str) -> Tuple[Optional[str], str]:
        """``(kind, value)``: what verifies what the source serves (see the module's doc)."""
        if self.sha256:
            return 'sha256', self.sha256
        if self.same_name(released):
            prefix = name_hash_prefix(released)
            return ('name', prefix) if prefix else ('layout', '')
        if self.hub and _COMMIT.fullmatch(self.revision):
            return 'commit', self.revision
        return None, ''

    def describe_pin(self, released: str) -> str:
        """``sha256 prefix 528c19ca (its name)``, ``sha256 e56bef...``, ``commit d73b44...``,
        ``layout check``, ``none``; ``(unconfirmed)`` where the pin is from one report."""
        kind, value = self.pin(released)
        text = {'name': f'sha256 prefix {value} (its name)', 'sha256': f'sha256 {value}',
                'commit': f'commit {value} + layout check', 'layout': 'layout check',
                None: 'none'}[kind]
        if self.hub and self.sha256 and _COMMIT.fullmatch(self.revision):
            text += f' (at commit {self.revision})'
        return text + ('' if self.confirmed or kind in (None, 'name', 'layout')
                       else ' (unconfirmed)')


def copy_source(url: str, host: str, evidence: str = '') -> Source:
    """A copy of a released file under its released name (verified by the name's digest)."""
    return Source(url=url, host=host, evidence=evidence)


def hub_source(repo: str, revision: str = 'main', sha256: str = '', evidence: str = '',
               confirmed: bool = True, filename: str = 'model.safetensors') -> Source:
    """A Hugging Face Hub copy (timm's ``model.safetensors``), pinned by ``sha256`` and/or an
    immutable ``revision`` (a 40-hex commit)."""
    return Source(hub=repo, revision=revision, filename=filename, sha256=sha256,
                  host='Hugging Face Hub', evidence=evidence, confirmed=confirmed)


#: where a Hub pin comes from when no stored source of this project confirms it
UNCONFIRMED_PIN = 'issue 33 (stored Hub pages); not confirmed by a second record'


def timm_hub_copy(copy: Optional[dict], evidence: str) -> Tuple[Source, ...]:
    """timm's Hub copy of a released file, from a family's row ``dict(repo=..., revision=...,
    sha256=...)`` (no copy: ``()``); ``evidence`` says where timm names the repo. A pin the
    row gives is marked unconfirmed (:data:`UNCONFIRMED_PIN`)."""
    if not copy:
        return ()
    pinned = 'sha256' in copy or 'revision' in copy
    return (hub_source(copy['repo'], copy.get('revision', 'main'), copy.get('sha256', ''),
                       evidence=evidence + '; ' + ('pin: ' + UNCONFIRMED_PIN if pinned
                                                   else 'no pin known'),
                       confirmed=not pinned),)


def same_path_copies(url: Optional[str]) -> Tuple[Source, ...]:
    """The copies of ``url`` under the same path on another host (:data:`SAME_PATH`)."""
    if not url:
        return ()
    return tuple(Source(url=prefix + url[len(host):], host=urllib.parse.urlparse(prefix).netloc,
                        evidence=f'the same path as on {urllib.parse.urlparse(host).netloc}')
                 for host, prefixes in SAME_PATH.items() if url.startswith(host)
                 for prefix in prefixes)


#: same-name copies of released files, by file name (:func:`register_copies`): the fallbacks
#: of a checkpoint URL that names one of them (``open-mmlab://``, ``mmcls://``, ``http(s)://``)
KNOWN_COPIES = {}


def register_copies(copies: dict) -> None:
    """Add ``{file name: (Source, ...)}`` to :data:`KNOWN_COPIES` (done by
    :mod:`mmfish.weights.hub` from the released and trained models' rows)."""
    for name, found in copies.items():
        KNOWN_COPIES[name] = tuple(dict.fromkeys(KNOWN_COPIES.get(name, ()) + tuple(found)))


def url_sources(url: str) -> Tuple[Source, ...]:
    """The fallbacks of a checkpoint URL: the same path on another host (:data:`SAME_PATH`),
    then the known same-name copies of its file (:data:`KNOWN_COPIES`)."""
    name = url_file_name(url)
    found = [s for s in same_path_copies(url) + KNOWN_COPIES.get(name, ())
             if s.location != url and s.same_name(name)]
    return tuple({s.location: s for s in found}.values())


def mirror_sources(name: str) -> List[Source]:
    """``$MMFISH_MIRROR``'s entries as sources of ``name``, in order."""
    found = []
    for entry in mirror_entries():
        if entry.startswith(('http://', 'https://')):
            found.append(Source(url=entry.rstrip('/') + '/' + urllib.parse.quote(name),
                                host=f'${MIRROR_ENV}'))
        else:
            found.append(Source(url=osp.join(entry, name), host=f'${MIRROR_ENV}'))
    return found


# -- one source ---------------------------------------------------------------------------
#: a callback that checks a fetched file before it is kept: ``verify(path, source, sha256)``,
#: raising :class:`~.io.CheckpointError` when the file is not the one named
Verify = Callable[[str, Source, str], None]


def _looks_like_a_page(tmp: str) -> Optional[bytes]:
    """The first bytes of ``tmp`` when they begin like an HTML page, else None."""
    with open(tmp, 'rb') as f:
        head = f.read(1024)
    text = head.lstrip().lower()
    if text.startswith(b'<') and (b'<html' in text or b'<!doctype' in text or b'<head' in text
                                  or b'<body' in text):
        return head.lstrip()
    return None


def receive_from(source: Source, name: str, tmp: str, progress: bool = True,
                 verify: Optional[Verify] = None) -> str:
    """Copy what ``source`` serves of the file ``name`` into the new file ``tmp`` and verify
    it by the source's pin; return its sha256. A source that cannot be read raises
    :class:`~.download.SourceError`; what is not the file named, :class:`~.download.
    DownloadError`; either way ``tmp`` is not to be kept."""
    where = source.location
    web = where.startswith(('http://', 'https://'))
    response = {}
    with os.fdopen(_create(tmp), 'wb') as out:
        if web:
            try:
                response = _copy_url(where, out, progress) or {}
            except (OSError, http.client.HTTPException) as exc:  # urllib's errors included
                raise SourceError(f'cannot fetch {where} ({_reason(exc)})') from None
        else:
            _copy_file(where, out)
    size = osp.getsize(tmp)
    page = _looks_like_a_page(tmp) if web else None
    if page is not None:
        kind = response.get('content_type') or 'no Content-Type'
        raise DownloadError(
            f'{where}: a web page, not a checkpoint: the host looks parked, or answers with an '
            f'error or sign-in page (HTTP {response.get("status", 200)}, {kind}, {size} bytes '
            f'beginning {page[:40]!r}). Nothing was kept')
    digest = file_sha256(tmp)
    kind, value = source.pin(name)
    if kind == 'name':
        if not digest.startswith(value):
            raise DownloadError(
                f'{where}: the file\'s sha256 is {digest}, but its name {name} says it '
                f'begins with {value}: the download is corrupt or the source serves '
                f'another file. Nothing was kept; run again to download it anew')
        return digest
    if kind == 'sha256':
        if digest != value:
            raise DownloadError(
                f'{where}: the file\'s sha256 is {digest} ({size} bytes), but its pin is '
                f'{value}: the source serves another file, or a changed one. Nothing was kept')
    else:
        commit = response.get('commit')
        if kind == 'commit' and commit and commit != value:
            raise DownloadError(f'{where}: the Hub answered with commit {commit}, not the '
                                f'pinned {value}. Nothing was kept')
        _check_readable(where, name, tmp)
    if verify is not None:
        try:
            verify(tmp, source, digest)
        except CheckpointError as exc:
            text = str(exc).replace(tmp, source.cached_name(name)).rstrip('.')
            raise DownloadError(f'{where}: what was fetched ({size} bytes, sha256 {digest}) is '
                                f'not {name}: {text}. Nothing was kept') from None
    return digest


# -- the chain ----------------------------------------------------------------------------
@dataclass
class Fetched:
    """What :func:`fetch_file` gives: the cached file, and (when this call fetched it) the
    source, its sha256 and its pin."""
    path: str
    fetched: bool = False
    source: Optional[Source] = None
    sha256: str = ''
    pin: Tuple[Optional[str], str] = (None, '')


def _cached(folder: str, name: str, sources: Sequence[Source]) -> Optional[str]:
    """The cached file of ``name``: under its released name, else a copy's (a Hub copy)."""
    for candidate in [name] + [s.cached_name(name) for s in sources]:
        path = osp.join(folder, candidate)
        if osp.isfile(path):
            return path
    return None


def plan(name: str, sources: Sequence[Source],
         only: bool = False) -> List[Tuple[Source, Optional[str]]]:
    """Every source of ``name`` in the order tried (mirrors first), each with the reason it is
    not tried here (None: it is tried). ``only``: exactly ``sources``, every one tried."""
    if only:
        return [(s, None) for s in sources]
    offline, hub_offline, unpinned = _on(OFFLINE_ENV), _on(HUB_OFFLINE_ENV), _on(UNPINNED_ENV)
    planned = [(s, None) for s in mirror_sources(name)]
    for source in sources:
        why = None
        if offline:
            why = f'not tried: {OFFLINE_ENV}=1 tries no built-in source'
        elif source.hub and hub_offline:
            why = f'not tried: {HUB_OFFLINE_ENV}=1'
        elif source.pin(name)[0] is None and not unpinned:
            why = (f'not tried: no pin (neither its sha256 nor an immutable commit is '
                   f'recorded); {UNPINNED_ENV}=1 tries it, printing its sha256 and recording '
                   f'it with the converted file')
        planned.append((source, why))
    return planned


def fetch_file(name: str, sources: Sequence[Source], folder: str,
               log: Callable[[str], None] = print, progress: bool = True,
               verify: Optional[Verify] = None,
               remedies: Optional[Callable[[str], str]] = None,
               task: Optional[str] = None, only: bool = False) -> Fetched:
    """The released file ``name`` in ``folder``, fetched first when neither it nor a copy of it
    is there: from each of ``$MMFISH_MIRROR``'s entries, then from ``sources``, in order, until
    one serves bytes that its pin verifies (:func:`receive_from`; ``verify``: the layout check
    of files without a digest in their name). A failing source is skipped with a log line.

    ``remedies(problem)``: the error's text from its problem on (what to do without network).
    When no source serves the file, one :class:`~.download.DownloadError` lists each source
    and why; with a single source, its own error. ``only``: try exactly ``sources`` (no
    mirror; ``MMFISH_OFFLINE`` and the pins' opt-in do not apply: a file the user gives)."""
    remedies = remedies or (lambda problem: problem)
    path = cache_file(folder, name)
    cached = _cached(folder, name, sources)
    if cached:
        return Fetched(cached)
    with file_lock(path, log, task=task or f'download of {name}'):
        cached = _cached(folder, name, sources)
        if cached:  # another process fetched it while this one waited
            return Fetched(cached)
        remove_stale_parts(folder, log)
        planned = plan(name, sources, only)
        tried = [s for s, why in planned if why is None]
        if not tried:
            if _on(OFFLINE_ENV):
                raise DownloadError(remedies(
                    f'{name} is not in the cache ({folder}) and {OFFLINE_ENV}=1 tries no '
                    f'built-in source; no mirror is set (${MIRROR_ENV})'))
            raise DownloadError(remedies(_listing(name, planned, {})))
        failures = {}
        for i, source in enumerate(tried):
            try:
                return _fetch_one(name, source, folder, log, progress, verify, i, len(tried))
            except SourceError as exc:
                failures[source] = exc
            except DownloadError as exc:
                failures[source] = exc
            left = len(tried) - i - 1
            log(f'skipped source {i + 1} of {len(tried)}: {failures[source]}'
                + (f'; trying the next ({left} left)' if left else ''))
        if len(planned) == 1:
            (exc, ) = failures.values()
            raise DownloadError(remedies(str(exc)) if isinstance(exc, SourceError)
                                else str(exc))
        raise DownloadError(remedies(_listing(name, planned, failures)))


def _fetch_one(name: str, source: Source, folder: str, log, progress: bool,
               verify: Optional[Verify], i: int, count: int) -> Fetched:
    """Fetch ``name`` from ``source`` into ``folder``, verified; the cached file."""
    where, kind = source.location, source.pin(name)
    target = cache_file(folder, source.cached_name(name), where if '://' in where else None)
    log(f'fetching {where}' + (f' (source {i + 1} of {count}: {source.host})'
                               if count > 1 and source.host else ''))
    if kind[0] is None and not source.cache_as:
        log(f'{where} has no pin: tried because {UNPINNED_ENV}=1')
    started = time.monotonic()
    check_inside(folder, target)
    digest_file = kind[0] not in ('name', 'sha256')
    if digest_file:
        check_inside(folder, target + '.sha256')
    with atomic_path(target, DownloadError) as tmp:  # created by receive_from (_create)
        try:
            digest = receive_from(source, name, tmp, progress, verify)
        except OSError as exc:  # writing the part file
            raise DownloadError(f'cannot write {tmp} ({_reason(exc)}): set $MMFISH_HOME to '
                                f'a folder you can write (default ~/.cache/mmfish)') from None
    size = osp.getsize(target) / 2**20
    said = {'name': f'{digest} matches its name',
            'sha256': f'{digest} matches its pin',
            'commit': f'{digest} (Hub commit {kind[1]}; recorded in {osp.basename(target)}'
                      f'.sha256)',
            'layout': f'{digest} (its release publishes no digest: recorded in '
                      f'{osp.basename(target)}.sha256)',
            None: f'{digest} (NO PIN: compare it with a trusted copy; recorded in '
                  f'{osp.basename(target)}.sha256)'}[kind[0]]
    log(f'fetched {osp.basename(target)} ({size:.1f} MiB in {time.monotonic() - started:.1f} '
        f's)' + (f' from {where} (source {i + 1} of {count})' if i else '') + f', sha256 {said}')
    if not source.confirmed and kind[0] in ('sha256', 'commit'):
        log(f'note: the pin of {where} is recorded from one report and not confirmed by a '
            f'second record (docs/weights.md)')
    if digest_file:
        _write_digest(folder, target, digest, osp.basename(target))
    return Fetched(target, True, source, digest, kind)


def _listing(name: str, planned, failures: dict) -> str:
    """Each source of ``name`` and why it did not serve the file."""
    lines = []
    for source, why in planned:
        if source in failures:
            lines.append(f'  - {failures[source]}')
        else:
            lines.append(f'  - {source.location}: {why}')
    tried = sum(1 for _, why in planned if why is None)
    return (f'no source could serve {name} ({tried} tried, {len(planned) - tried} not tried):\n'
            + '\n'.join(lines) + '\n')
