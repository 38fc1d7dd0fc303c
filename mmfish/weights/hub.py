"""``mmfish://<name>``: a released model's weights in one line of a config.

::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='mmfish://resnest101', prefix='backbone.')))
    load_from = 'mmfish://mmdet/mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco'
    # or: mim test mmdet CONFIG --checkpoint mmfish://...

``<name>`` is a name of :data:`mmfish.variants.VARIANTS` with released files (the authors'
ImageNet weights), or ``<toolbox>/<model>`` of :data:`mmfish.variants.TRAINED` (a toolbox's
trained detector, segmenter, pose model or classifier, converted whole). On first use the
released file is fetched into ``$MMFISH_HOME/originals`` (default ``~/.cache/mmfish``) from its
sources in order (``$MMFISH_MIRROR``'s entries, the release's URL, same-name copies, Hub copies:
:mod:`mmfish.checkpoint.sources`), each verified by its pin before anything is kept (the sha256
prefix its name carries, a Hub copy's full sha256, or the converter's layout check for a file
without a digest, whose conversion is then kept), converted exactly as ``python -m mmfish.convert``
converts it (the decisions in the converted file's ``meta``) and cached atomically as
``$MMFISH_HOME/checkpoints/<name>_mmfish.pth``; later uses read the cache. Processes of one
machine (the ranks of a distributed run) that ask at once take turns: one fetches and converts,
the others wait and read the cache. The file is read weights-only, as every mmfish loader reads.
Nothing unconvertible is kept: a file fetched by this run that cannot be converted is removed
again (with its ``.sha256``), so that the next run fetches it anew; a cached file that an
earlier run kept and that cannot be converted or read is named in the error, with how to clear
it.
"""
import os
import os.path as osp
import shlex
import shutil
import tempfile
from typing import Callable, Optional, Tuple

import torch
from mmengine.logging import print_log

from ..checkpoint.download import (
    MIRROR_ENV,
    DownloadError,
    cache_home,
    discard_fetched,
    file_lock,
    remove_cached,
)
from ..checkpoint.integrity import name_hash_prefix
from ..checkpoint.io import CheckpointError, load_checkpoint, save_atomic
from ..checkpoint.sources import Source, fetch_file, register_copies
from ..suggest import closest
from ..variants import TRAINED, VARIANTS, TrainedModel
from .conversion import convert_checkpoint

SCHEME = 'mmfish://'


def _log(line: str) -> None:
    print_log(line, logger='current')


def released_variants() -> dict:
    """The variants with released weights, by name."""
    return {name: v for name, v in VARIANTS.items() if v.files}


def trained_models() -> dict:
    """The toolboxes' trained models, by ``<toolbox>/<model>``."""
    return dict(TRAINED)


def converted_path(name: str) -> str:
    """Where the converted weights of ``name`` (a variant, or ``<toolbox>/<model>``) are
    cached."""
    return osp.join(cache_home(), 'checkpoints', *f'{name}_mmfish.pth'.split('/'))


def _row(uri: str):
    """``(name, row)`` of ``mmfish://<name>``: a released variant or a trained model; an
    unknown name, or one without weights, is refused with the valid names."""
    name = uri[len(SCHEME):] if uri.startswith(SCHEME) else uri
    released, trained = released_variants(), trained_models()
    if name in trained:
        return name, trained[name]
    if name in released:
        return name, released[name]
    if name in VARIANTS:
        problem = f'{name} has no released weights (its row in mmfish.variants lists none)'
        same = [n for n, v in released.items() if v.backbone == VARIANTS[name].backbone]
        if same:
            problem += (f'; the same architecture has them as '
                        f'{", ".join(SCHEME + n for n in same)}')
    else:
        close = closest(name, list(released) + list(trained))
        problem = f'unknown model {name!r}' + (f" (did you mean '{SCHEME}{close}'?)"
                                               if close else '')
    raise CheckpointError(
        f'{SCHEME}{name}: {problem}; valid names: '
        f'{", ".join(SCHEME + n for n in released)}, and the toolboxes\' trained models, '
        f'{SCHEME}<toolbox>/<model> (docs/models.md lists them), e.g. '
        f'{SCHEME}{next(iter(trained))}')


def released_file(name: str) -> Tuple[str, Tuple[Source, ...]]:
    """The released file of ``mmfish://<name>`` and its sources, in order."""
    _, row = _row(name)
    return (row.file, row.sources) if isinstance(row, TrainedModel) else \
        (row.files[0], row.sources)


def originals_folder() -> str:
    """Where released files are cached: ``$MMFISH_HOME/originals``."""
    return osp.join(cache_home(), 'originals')


def remedies(name: str, file: str) -> Callable[[str], str]:
    """The end of the error of a file no source served: what to do without network."""
    def text(problem: str) -> str:
        sep = '' if problem.endswith('\n') else '. '
        return (f'{problem}{sep}Without network: python -m mmfish.hub add FILE puts a copy of '
                f'{file} you have (from a colleague, another machine) into the cache, verified, '
                f'so that {SCHEME}{name} works offline; or set ${MIRROR_ENV} to folders or URL '
                f'prefixes (separated by spaces) that hold {file}')
    return text


def _convert(name: str, row, src: str, dst: str, log, fetched_from: Optional[dict] = None):
    """Convert ``src`` (the released file of ``name`` or a copy of it) into ``dst``; with
    ``fetched_from``, record where the file came from in the meta."""
    trained = name if name in trained_models() else None
    family = None if trained else row.family
    # a released name with a digest tells the variant once verified; a copy or a name
    # without one, the name
    variant = None if trained or name_hash_prefix(osp.basename(src)) is not None else name
    meta = convert_checkpoint(family, src, dst, log=log, variant=variant,
                              trained=trained)['mmfish']
    layout = getattr(row, 'layout', None)
    if layout is not None and meta['layout'] != layout:
        os.remove(dst)
        others = [n for n, v in released_variants().items()
                  if v.layout == meta['layout'] and v.family == row.family]
        raise CheckpointError(
            f'{osp.basename(src)} is in the {meta["layout"]} key layout, but the released file '
            f'of {SCHEME}{name} is in the {layout} one: it is the file of another variant of '
            f'the same shapes ({", ".join(others) or "none released"}), not this one')
    if fetched_from:
        converted = torch.load(dst, map_location='cpu', weights_only=True)
        converted['meta']['mmfish']['fetched'] = fetched_from
        save_atomic(converted, dst)


def resolve(uri: str, log: Callable[[str], None] = _log,
            given: Optional[Source] = None) -> str:
    """The local path of the converted checkpoint that ``mmfish://<variant>`` names: from the
    cache, or fetched (its sources in order, each verified), converted and cached first.
    ``given``: take the file from this source alone (``python -m mmfish.hub add``)."""
    name, row = _row(uri)
    path = converted_path(name)
    if osp.isfile(path):
        return path
    file, sources = released_file(name)
    if given is not None:
        sources = (given, )
    folder = originals_folder()
    with file_lock(path, log, task=f'conversion of {SCHEME}{name}'):
        if osp.isfile(path):  # another process converted it while this one waited
            return path
        os.makedirs(osp.dirname(path), exist_ok=True)
        work = tempfile.mkdtemp(prefix=f'.verify-{os.getpid()}-', dir=osp.dirname(path))
        verified = {}

        def verify(tmp: str, source: Source, digest: str) -> None:
            """The layout check of a file that its name's digest does not verify: it converts
            to ``name`` (the conversion is kept)."""
            src = osp.join(work, source.cached_name(file))
            try:
                os.link(tmp, src)
            except OSError:
                shutil.copyfile(tmp, src)
            kind, value = source.pin(file)
            dst = osp.join(work, 'converted.pth')
            try:
                _convert(name, row, src, dst, log, dict(
                    source=source.location, sha256=digest, pin=kind or 'none',
                    pin_value=value, host=source.host))
            except CheckpointError as exc:
                raise type(exc)(str(exc).replace(src, osp.basename(src))) from None
            finally:
                os.remove(src)
            verified['path'] = dst

        try:
            got = fetch_file(file, sources, folder, log=log, verify=verify,
                             remedies=remedies(name, file) if given is None else None,
                             task=f'download of {file} for {SCHEME}{name}',
                             only=given is not None)
            if 'path' in verified:
                os.replace(verified['path'], path)
                log(f'wrote {path}')
                return path
            original = got.path
            log(f'converting {original} into {path}')
            try:
                _convert(name, row, original, path, log)
            except CheckpointError as exc:
                raise type(exc)(discard_fetched(original, got.fetched, exc, 'converted')) \
                    from None
            except Exception:
                if got.fetched:
                    remove_cached(original)
                raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return path


def load_from_mmfish(filename: str, map_location=None):
    """MMEngine's loader of ``mmfish://`` names (``CheckpointLoader``). A cached converted
    file that cannot be read is named, with how to clear it."""
    path = resolve(filename)
    try:
        return load_checkpoint(path, CheckpointError, map_location=map_location)
    except CheckpointError as exc:
        raise CheckpointError(f'{exc}. The cached file {path} cannot be read: delete it '
                              f'(rm {shlex.quote(path)}) to convert it anew') from None


def register_scheme() -> None:
    """Register ``mmfish://`` with MMEngine's ``CheckpointLoader``: ``load_from``, ``--resume``
    from a name, ``Pretrained`` (mmfish's and MMEngine's) and ``mim test --checkpoint``."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_from_mmfish, force=True)
    register_copies(known_copies())


def known_copies() -> dict:
    """``{released file name: its same-name copies}`` of every released and trained model: the
    fallbacks of a checkpoint URL (``open-mmlab://``, ``mmcls://``) that names one of them."""
    rows = [(v.files[0], v.sources) for v in released_variants().values()]
    rows += [(t.file, t.sources) for t in trained_models().values()]
    return {file: tuple(s for s in sources[1:] if s.same_name(file)) for file, sources in rows}


__all__ = ['SCHEME', 'DownloadError', 'converted_path', 'known_copies', 'load_from_mmfish',
           'originals_folder', 'register_scheme', 'released_file', 'released_variants',
           'resolve', 'trained_models']
