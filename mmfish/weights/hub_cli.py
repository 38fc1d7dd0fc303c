"""The command line of ``python -m mmfish.hub``: the ``mmfish://`` names, their sources and pins,
and the cache (``$MMFISH_HOME``).

::

    python -m mmfish.hub list [NAME ...]        # every name, its sources and pins, cached or not
    python -m mmfish.hub fetch NAME [NAME ...]  # fetch, verify, convert, cache (with progress)
    python -m mmfish.hub add FILE [--name NAME] # a file you already have, verified, cached
    python -m mmfish.hub verify                 # re-hash what is cached
    python -m mmfish.hub where NAME             # the cached path

Exit status 0: done; 1: refused or failed (one ``error:`` message, nothing cached by the
failing step); 2: bad arguments.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Tuple

from ..checkpoint.download import DownloadError, cache_home
from ..checkpoint.integrity import file_sha256, name_hash_prefix
from ..checkpoint.io import CheckpointError
from ..checkpoint.sources import Source
from ..suggest import closest
from .cli import exit_status
from .hub import (
    SCHEME,
    converted_path,
    originals_folder,
    released_file,
    released_variants,
    resolve,
    trained_models,
)

__all__ = ['main']

DESCRIPTION = """The mmfish:// names: each released or trained model's file, its sources in the
order they are tried (the release's URL, same-name copies, Hugging Face Hub copies) and the pin
that verifies each, and the cache ($MMFISH_HOME, default ~/.cache/mmfish). Exit status 0: done;
1: refused or failed, nothing cached by the failing step; 2: bad arguments."""


def _names() -> List[str]:
    return list(released_variants()) + list(trained_models())


def _bare(name: str) -> str:
    return name[len(SCHEME):] if name.startswith(SCHEME) else name


def _cached(name: str) -> Tuple[Optional[str], Optional[str]]:
    """The cached converted file of ``name`` and its cached original (or None each)."""
    file, sources = released_file(name)
    path = converted_path(name)
    folder = originals_folder()
    originals = [osp.join(folder, n) for n in
                 dict.fromkeys([file] + [s.cached_name(file) for s in sources])]
    return (path if osp.isfile(path) else None,
            next((p for p in originals if osp.isfile(p)), None))


def cmd_list(names: List[str]) -> int:
    for name in names or _names():
        file, sources = released_file(name)
        converted, original = _cached(name)
        state = ('cached: ' + converted if converted else
                 'original cached: ' + original if original else 'not cached')
        print(f'{SCHEME}{name}  {file}  ({state})')
        for i, source in enumerate(sources, 1):
            print(f'  {i}. {source.location}  [{source.host}]  pin: '
                  f'{source.describe_pin(file)}')
    return 0


def cmd_fetch(names: List[str]) -> int:
    failed = 0
    for name in names:
        try:
            path = resolve(name, log=print)
        except (CheckpointError, OSError) as exc:  # DownloadError is a CheckpointError
            print(f'error: {SCHEME}{name}: {exc}', file=sys.stderr)
            failed += 1
            continue
        print(f'{SCHEME}{name}: {path}')
    return 1 if failed else 0


def _layout_candidates(path: str) -> list:
    """The released files without a digest of the family whose keys ``path`` shows (FishNet's,
    PaddleClas'), and in its key layout where a row names one (a welltrained FishNet-150 file
    is not ``fishnet150``'s): each a candidate that the converter's layout check decides."""
    from ..checkpoint.io import load_state_dict
    from ..core.family import FAMILIES
    from .conversion import detect_family
    try:
        state, _ = load_state_dict(path)
        family = detect_family(state, path)
        layout = FAMILIES[family].to_mmfish_keys(state, path)[1]
    except (CheckpointError, OSError, KeyError):
        return []
    return [(row, Source(url=path, host='a file given', cache_as=v.files[0]),
             f'its layout ({v.backbone["type"]}; checked by the converter)')
            for row, v in released_variants().items()
            if v.family == family and name_hash_prefix(v.files[0]) is None
            and v.layout in (None, layout)]


def _identify(path: str, name: Optional[str]) -> list:
    """``[(name, source, how)]``: which ``mmfish://`` name the file ``path`` is (candidates in
    order, for a file told by its layout), the source that gives it (the file itself, with the
    pin that verifies it) and how it was identified; a CheckpointError when it is none."""
    base, rows = osp.basename(path), _names()
    if name is not None:
        file, sources = released_file(name)
        if base == file:
            return [(name, Source(url=path, host='a file given'), 'its name')]
        digest = file_sha256(path)
        for s in sources:
            if s.sha256 and s.sha256 == digest:
                return [(name, Source(url=path, sha256=digest, host='a file given',
                                    cache_as=s.cached_name(file)), 'its full sha256')]
        prefix = name_hash_prefix(file)
        if prefix is not None and digest.startswith(prefix):
            return [(name, Source(url=path, host='a file given', cache_as=file),
                     'its name digest')]
        hub = next((s for s in sources if s.hub and not s.same_name(file)), None)
        if prefix is not None and not (hub and base.endswith('.safetensors')):
            raise CheckpointError(
                f'{path} is not {SCHEME}{name}\'s file {file}: its sha256 {digest} does not '
                f'begin with {prefix}, the digest of the released name')
        # named by the user, a Hub copy or a file released without a digest: verified by the
        # converter's layout check, its sha256 printed and recorded
        cache_as = hub.cached_name(file) if hub and base.endswith('.safetensors') else file
        return [(name, Source(url=path, host='a file given (--name)', cache_as=cache_as),
                 'NAME given (layout check)')]
    for row in rows:
        file, _ = released_file(row)
        if base == file:
            return [(row, Source(url=path, host='a file given'), 'its name')]
    digest = file_sha256(path)
    for row in rows:
        file, sources = released_file(row)
        for s in sources:
            if s.sha256 == digest:
                return [(row, Source(url=path, sha256=digest, host='a file given',
                                   cache_as=s.cached_name(file)), 'its full sha256')]
            if name_hash_prefix(file) and digest.startswith(name_hash_prefix(file)) \
                    and s is sources[0]:
                return [(row, Source(url=path, host='a file given', cache_as=file),
                         'the sha256 prefix of its released name')]
    layouts = _layout_candidates(path)
    if layouts:
        return layouts
    raise CheckpointError(
        f'{path} is none of the released files mmfish knows: its name is no released name, '
        f'its sha256 ({digest}) matches no pin and no released name\'s digest, and it is no '
        f'file released without a digest. python -m mmfish.hub list shows the names and pins; '
        f'give --name NAME to add it as NAME (the converter then checks its layout)')


def cmd_add(path: str, name: Optional[str]) -> int:
    if not osp.isfile(path):
        print(f'error: {path}: no such file', file=sys.stderr)
        return 1
    path = osp.abspath(path)
    try:
        if name is not None:
            name = _bare(name)
            if name not in _names():
                raise CheckpointError(f'--name {name}: unknown name; python -m mmfish.hub list '
                                      f'shows the names')
        candidates = _identify(path, name)
        problems = []
        for name, source, how in candidates:
            if _cached(name)[0]:
                print(f'{SCHEME}{name} is already cached: {_cached(name)[0]}')
                return 0
            print(f'{path}: {SCHEME}{name} (identified by {how})')
            try:
                converted = resolve(name, log=print, given=source)
                break
            except CheckpointError as exc:
                if len(candidates) == 1:
                    raise
                problems.append(f'{SCHEME}{name}: {exc}')
        else:
            raise CheckpointError(f'{path} has the layout of no released file without a '
                                  f'digest:\n' + '\n'.join(problems))
    except (CheckpointError, OSError) as exc:
        print(f'error: {exc}\nnothing was cached.', file=sys.stderr)
        return 1
    print(f'added: {SCHEME}{name} is served from {converted}')
    return 0


def _expected(folder: str, file: str) -> Tuple[Optional[str], str]:
    """What the cached original ``file`` must hash to, and where that comes from."""
    record = osp.join(folder, file + '.sha256')
    for row in _names():
        released, sources = released_file(row)
        for s in sources:
            if s.sha256 and s.cached_name(released) == file:
                return s.sha256, 'its pin'
    if name_hash_prefix(file):
        return name_hash_prefix(file), 'its name'
    if osp.isfile(record):
        with open(record) as f:
            return f.read().split()[0], f'{file}.sha256'
    return None, 'nothing records it'


def cmd_verify() -> int:
    folder, bad, count = originals_folder(), 0, 0
    files = sorted(f for f in (os.listdir(folder) if osp.isdir(folder) else [])
                   if not f.startswith('.') and not f.endswith(('.lock', '.sha256'))
                   and osp.isfile(osp.join(folder, f)))
    for file in files:
        count += 1
        digest = file_sha256(osp.join(folder, file))
        expected, by = _expected(folder, file)
        if expected is None:
            print(f'?? {file}: sha256 {digest} ({by})')
        elif digest.startswith(expected):
            print(f'ok {file}: sha256 {digest} matches {by}')
        else:
            bad += 1
            print(f'BAD {file}: sha256 {digest}, but {by} says {expected}: delete it (rm '
                  f'{osp.join(folder, file)}) and fetch it anew')
    print(f'{count} cached files in {folder}, {bad} bad')
    if bad:
        print(f'error: {bad} cached files do not match', file=sys.stderr)
    return 1 if bad else 0


def cmd_where(name: str) -> int:
    converted, original = _cached(name)
    if not converted:
        print(f'error: {SCHEME}{name} is not cached in {cache_home()}'
              + (f' (its original is: {original})' if original else '')
              + f'; python -m mmfish.hub fetch {name} fetches it', file=sys.stderr)
        return 1
    print(converted)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='python -m mmfish.hub', description=DESCRIPTION)
    sub = p.add_subparsers(dest='command', required=True, metavar='COMMAND')
    ls = sub.add_parser('list', help='every name, its sources and pins, and whether it is cached')
    ls.add_argument('names', nargs='*', metavar='NAME', help='only these names')
    fetch = sub.add_parser('fetch', help='fetch, verify, convert and cache names (for a '
                                         'cluster without internet: then copy $MMFISH_HOME)')
    fetch.add_argument('names', nargs='+', metavar='NAME')
    add = sub.add_parser('add', help='put a file you already have into the cache, verified: '
                                     "identified by its released name, its name's digest, its "
                                     'full sha256, or its layout (FishNet)')
    add.add_argument('file', metavar='FILE')
    add.add_argument('--name', help='the mmfish:// name FILE is (default: identified)')
    sub.add_parser('verify', help='re-hash the cached originals against their pins')
    where = sub.add_parser('where', help='the cached converted file of a name')
    where.add_argument('name', metavar='NAME')
    return p


def main(argv=None) -> int:
    """Run the command line ``argv``; the exit status."""
    args = parser().parse_args(argv)
    return exit_status(lambda: _run(args), DownloadError, unexpected=True)


def _run(args) -> int:
    if args.command in ('list', 'fetch', 'where'):
        names = [_bare(n) for n in (args.names if args.command != 'where' else [args.name])]
        unknown = [n for n in names if n not in _names()]
        if unknown:
            hints = [f'{n}' + (f' (did you mean {closest(n, _names())}?)'
                               if closest(n, _names()) else '') for n in unknown]
            print(f'error: unknown name: {", ".join(hints)}; python -m mmfish.hub list shows '
                  f'the names', file=sys.stderr)
            return 2
        if args.command == 'list':
            return cmd_list(names)
        if args.command == 'fetch':
            return cmd_fetch(names)
        return cmd_where(names[0])
    if args.command == 'add':
        return cmd_add(args.file, args.name)
    return cmd_verify()


