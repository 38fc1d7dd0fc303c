"""``mmfish://<name>``: a released model's weights in one line of a config.

::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='mmfish://resnest101', prefix='backbone.')))
    load_from = 'mmfish://mmdet/mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco'
    # or: mim test mmdet CONFIG --checkpoint mmfish://...

``<name>`` is a name of :data:`mmfish.variants.VARIANTS` with released files (the authors'
ImageNet weights), or ``<toolbox>/<model>`` of :data:`mmfish.variants.TRAINED` (a toolbox's
trained detector, segmenter, pose model or classifier, converted whole). On first use the
released file is fetched into ``$MMFISH_HOME/originals`` (default ``~/.cache/mmfish``;
``$MMFISH_MIRROR`` replaces the official URL, see :mod:`mmfish.checkpoint.download`), its sha256
checked against the prefix its name carries, converted exactly as ``python -m mmfish.convert``
converts it (the decisions in the converted file's ``meta``) and cached atomically as
``$MMFISH_HOME/checkpoints/<name>_mmfish.pth``; later uses read the cache. Processes of one
machine (the ranks of a distributed run) that ask at once take turns: one fetches and converts,
the others wait and read the cache. The file is read weights-only, as every mmfish loader reads.
Nothing unconvertible is kept: a file fetched by this run that cannot be converted is removed
again (with its ``.sha256``), so that the next run fetches it anew; a cached file that an
earlier run kept and that cannot be converted or read is named in the error, with how to clear
it.
"""
import os.path as osp
import shlex
from typing import Callable

from mmengine.logging import print_log

from ..checkpoint.download import (
    DownloadError,
    cache_file,
    cache_home,
    discard_fetched,
    fetch,
    file_lock,
    remove_cached,
)
from ..checkpoint.integrity import name_hash_prefix
from ..checkpoint.io import CheckpointError, load_checkpoint
from ..suggest import closest
from ..variants import TRAINED, VARIANTS
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


def resolve(uri: str, log: Callable[[str], None] = _log) -> str:
    """The local path of the converted checkpoint that ``mmfish://<variant>`` names: from the
    cache, or fetched, verified, converted and cached first."""
    name = uri[len(SCHEME):] if uri.startswith(SCHEME) else uri
    released, trained = released_variants(), trained_models()
    if name not in released and name not in trained:
        if name in VARIANTS:
            problem = f'{name} has no released weights (its row in mmfish.variants lists none)'
        else:
            close = closest(name, list(released) + list(trained))
            problem = f'unknown model {name!r}' + (f" (did you mean '{SCHEME}{close}'?)"
                                                   if close else '')
        raise CheckpointError(
            f'{SCHEME}{name}: {problem}; valid names: '
            f'{", ".join(SCHEME + n for n in released)}, and the toolboxes\' trained models, '
            f'{SCHEME}<toolbox>/<model> (docs/models.md lists them), e.g. '
            f'{SCHEME}{next(iter(trained))}')
    path = converted_path(name)
    if osp.isfile(path):
        return path
    if name in trained:
        row = trained[name]
        file, url, family, variant = row.file, row.url, None, None
    else:
        row = released[name]
        file, url, family = row.files[0], row.url, row.family
        # a released name with a digest tells the variant once verified; one without, the name
        variant = None if name_hash_prefix(file) is not None else name
    folder = osp.join(cache_home(), 'originals')
    with file_lock(path, log, task=f'conversion of {SCHEME}{name}'):
        if osp.isfile(path):  # another process converted it while this one waited
            return path
        fetched = not osp.isfile(cache_file(folder, file))
        original = fetch(file, url, folder, log=log)
        log(f'converting {original} into {path}')
        try:
            convert_checkpoint(family, original, path, log=log, variant=variant,
                               trained=name if name in trained else None)
        except CheckpointError as exc:
            raise type(exc)(discard_fetched(original, fetched, exc, 'converted')) from None
        except Exception:
            if fetched:
                remove_cached(original)
            raise
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


__all__ = ['SCHEME', 'DownloadError', 'converted_path', 'load_from_mmfish', 'register_scheme',
           'released_variants', 'resolve', 'trained_models']
