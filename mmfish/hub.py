"""``mmfish://<variant>``: a released model's weights in one line of a config.

::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='mmfish://resnest101', prefix='backbone.')))
    load_from = 'mmfish://resnest101'          # or: mim test ... --checkpoint mmfish://...

``<variant>`` is a name of :data:`mmfish.variants.VARIANTS` with released files. On first use
the released file is fetched into ``$MMFISH_HOME/originals`` (default ``~/.cache/mmfish``;
``$MMFISH_MIRROR`` replaces the official URL, see :mod:`mmfish.checkpoint.download`), its sha256
checked against the prefix its name carries, converted exactly as ``python -m mmfish.convert``
converts it (the decisions in the converted file's ``meta``) and cached atomically as
``$MMFISH_HOME/checkpoints/<variant>_mmfish.pth``; later uses read the cache. Processes of one
machine (the ranks of a distributed run) that ask at once take turns: one fetches and converts,
the others wait and read the cache. The file is read weights-only, as every mmfish loader reads.
"""
import difflib
import os.path as osp
from typing import Callable

from mmengine.logging import print_log

from .checkpoint.download import DownloadError, cache_home, fetch, file_lock
from .checkpoint.integrity import name_hash_prefix
from .checkpoint.io import CheckpointError, load_checkpoint

SCHEME = 'mmfish://'


def _log(line: str) -> None:
    print_log(line, logger='current')


def released_variants() -> dict:
    """The variants with released weights, by name."""
    from .variants import VARIANTS
    return {name: v for name, v in VARIANTS.items() if v.files}


def converted_path(name: str) -> str:
    """Where the converted weights of variant ``name`` are cached."""
    return osp.join(cache_home(), 'checkpoints', f'{name}_mmfish.pth')


def resolve(uri: str, log: Callable[[str], None] = _log) -> str:
    """The local path of the converted checkpoint that ``mmfish://<variant>`` names: from the
    cache, or fetched, verified, converted and cached first."""
    from .converters import convert_checkpoint
    from .variants import VARIANTS
    name = uri[len(SCHEME):] if uri.startswith(SCHEME) else uri
    released = released_variants()
    if name not in released:
        if name in VARIANTS:
            problem = f'{name} has no released weights (its row in mmfish.variants lists none)'
        else:
            close = difflib.get_close_matches(name, list(released), n=1)
            problem = f'unknown model {name!r}' + (f" (did you mean '{SCHEME}{close[0]}'?)"
                                                   if close else '')
        raise CheckpointError(f'{SCHEME}{name}: {problem}; valid names: '
                              f'{", ".join(SCHEME + n for n in released)}')
    variant = released[name]
    path = converted_path(name)
    if osp.isfile(path):
        return path
    with file_lock(path, log):
        if osp.isfile(path):  # another process converted it while this one waited
            return path
        original = fetch(variant.files[0], variant.url, osp.join(cache_home(), 'originals'),
                         log=log)
        log(f'converting {original} into {path}')
        # a released name with a digest tells the variant once verified; one without, the name
        digested = name_hash_prefix(variant.files[0]) is not None
        convert_checkpoint(variant.family, original, path, log=log,
                           variant=None if digested else name)
    return path


def load_from_mmfish(filename: str, map_location=None):
    """MMEngine's loader of ``mmfish://`` names (``CheckpointLoader``)."""
    return load_checkpoint(resolve(filename), CheckpointError, map_location=map_location)


def register_scheme() -> None:
    """Register ``mmfish://`` with MMEngine's ``CheckpointLoader``: ``load_from``, ``--resume``
    from a name, ``Pretrained`` (mmfish's and MMEngine's) and ``mim test --checkpoint``."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_from_mmfish, force=True)


__all__ = ['SCHEME', 'DownloadError', 'converted_path', 'load_from_mmfish', 'register_scheme',
           'released_variants', 'resolve']


register_scheme()
