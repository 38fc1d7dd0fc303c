"""Let MMEngine 0.10.x resume from its own checkpoints on torch >= 2.6, without weakening
weights-only loading.

torch 2.6 made ``torch.load`` default to ``weights_only=True``; MMEngine 0.10.7 calls it
without ``weights_only``, and the checkpoints it writes hold a few non-tensor objects: the
message hub's ``HistoryBuffer``, numpy arrays and scalars, and the buffer's statistics methods
(``HistoryBuffer.mean``, ...), which pickle writes as ``getattr(HistoryBuffer, 'mean')``.

This module adds those types to torch's weights-only allowlist, numpy's as checked stand-ins:
``numpy.dtype`` builds numeric dtypes only and lets their pickled state set nothing but the
byte order, arrays are rebuilt as :class:`UnpickledArray` from exactly their bytes, scalars
from exactly theirs. numpy's own constructors are never allowed: through a dtype's state a
pickle could give an array object fields over raw bytes, which numpy then reads as pointers
(a crash, or worse). ``getattr`` itself is never
allowed: from a general ``getattr`` a pickle reaches any attribute of any allowed object (and
through ``getattr(getattr, '__self__')`` the ``builtins`` module, ``eval`` included). Instead a
stand-in, :func:`history_buffer_getattr`, takes the name ``builtins.getattr`` in the allowlist
and resolves exactly the attributes MMEngine pickles, the statistics methods of
``HistoryBuffer``; any other ``getattr`` in a checkpoint stops the load with an
``UnpicklingError``.

MMEngine's loaders of local files (``--resume``, ``load_from``, ``init_cfg`` of toolbox models)
and of URLs (``http(s)://``, and ``open-mmlab://``, ``torchvision://``, ``mmcls://``, which
resolve to URLs) are replaced by ones that read with :func:`mmfish.checkpoint.io.load_checkpoint`:
``weights_only=True`` always, whatever ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says, sizes checked
before anything is allocated, safetensors read, and errors that name the file and what it
really is (:class:`mmfish.checkpoint.CheckpointError`) instead of a bare ``EOFError``.
"""
import pickle

import torch

from .safe_numpy import (
    MULTIARRAY_MODULES,
    NdarrayToken,
    UnpickledArray,
    UnpickledDtype,
    empty_bytes,
    numpy_scalar,
    reconstruct_array,
)

#: the statistics methods of ``HistoryBuffer`` that MMEngine pickles by name
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')
def history_buffer_getattr(obj, name):
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods: what an MMEngine
    checkpoint's pickle asks for. Anything else raises ``pickle.UnpicklingError``."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and isinstance(name, str) and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    target = obj.__name__ if isinstance(obj, type) else type(obj).__name__
    raise pickle.UnpicklingError(
        f'the checkpoint asks for getattr({target}, {name!r}), which weights-only loading '
        f'refuses: mmfish allows only getattr(HistoryBuffer, <one of '
        f'{", ".join(HISTORY_BUFFER_METHODS)}>), as MMEngine writes it. The file is not an '
        f'MMEngine or PyTorch checkpoint of weights; do not load it with weights_only=False '
        f'unless you trust its source.')


def mmengine_checkpoint_globals() -> list:
    """What an MMEngine training checkpoint references beyond torch's defaults, in the form
    ``torch.serialization.add_safe_globals`` takes (an object, or (stand-in, full name)).
    numpy's names resolve to the checked stand-ins above, never to numpy's own constructors."""
    from mmengine.logging import HistoryBuffer
    allowed = [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr'),
               (NdarrayToken, 'numpy.ndarray'), (UnpickledDtype, 'numpy.dtype'),
               UnpickledArray, UnpickledDtype, (empty_bytes, 'builtins.bytes')]
    for module in MULTIARRAY_MODULES:
        allowed += [(reconstruct_array, f'{module}._reconstruct'),
                    (numpy_scalar, f'{module}.scalar')]
    return allowed


def _named_stand_ins_supported() -> bool:
    """Whether this torch takes ``(object, 'module.name')`` entries in its allowlist (older
    releases would fail on them in every later weights-only load)."""
    try:
        from torch._weights_only_unpickler import _get_user_allowed_globals
        with torch.serialization.safe_globals([(history_buffer_getattr, 'mmfish.probe')]):
            return _get_user_allowed_globals().get('mmfish.probe') is history_buffer_getattr
    except Exception:
        return False


def allow_mmengine_checkpoints() -> None:
    """Allow what MMEngine's checkpoints hold (torch >= 2.6, whose ``torch.load`` is
    weights-only by default). On a torch without named stand-ins the statistics methods stay
    refused: resuming then fails with torch's message, but nothing unsafe is allowed."""
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return
    allowed = mmengine_checkpoint_globals()
    if not _named_stand_ins_supported():
        allowed = [g for g in allowed if not isinstance(g, tuple)]
    torch.serialization.add_safe_globals(allowed)


def load_from_local(filename, map_location=None):
    """MMEngine's ``load_from_local``, read by :func:`mmfish.checkpoint.io.load_checkpoint`
    (weights only, whatever the environment says; errors that name the file)."""
    from .io import CheckpointError, load_checkpoint
    return load_checkpoint(filename, CheckpointError, map_location=map_location)


def load_from_url(filename, map_location=None, model_dir=None, progress=None):
    """MMEngine's ``load_from_http``: fetched into the same cache (``$TORCH_HOME/hub/
    checkpoints``) as :func:`mmfish.checkpoint.download.fetch` fetches released files (one
    process of a machine at a time, from ``$MMFISH_MIRROR``'s entries first, then the URL, then
    its fallbacks (:func:`~.sources.url_sources`: the same path on OpenMMLab's older bucket for a
    download.openmmlab.com URL, the known same-name copies of its file), the sha256 prefix a
    name carries checked, nothing half-written kept), then read weights-only. ``open-mmlab://``,
    ``torchvision://`` and ``mmcls://``, which MMEngine maps to URLs, take the same chain.

    The cached file is named by the URL's last segment, unquoted once
    (:func:`~.download.url_file_name`); a name that is not a plain file name (a separator,
    ``..``, a double-encoded escape, ...) is refused before anything is fetched, read or
    written. A file fetched by this call that cannot be read is removed again; a cached one
    that cannot be read is named, with how to clear it."""
    import os

    from mmengine.logging import print_log
    from torch.hub import get_dir

    from .download import cache_file, discard_fetched, fetch, url_file_name
    from .io import CheckpointError, load_checkpoint
    from .sources import url_sources
    model_dir = model_dir or os.path.join(get_dir(), 'checkpoints')
    name = url_file_name(filename)
    fetched = not os.path.isfile(cache_file(model_dir, name, filename))
    path = fetch(name, filename, model_dir, log=lambda line: print_log(line, logger='current'),
                 progress=bool(os.isatty(0) if progress is None else progress), converts=False,
                 copies=url_sources(filename))
    try:
        return load_checkpoint(path, CheckpointError, map_location=map_location)
    except CheckpointError as exc:
        raise CheckpointError(discard_fetched(path, fetched, exc, 'read')) from None


def name_unreadable_checkpoints() -> None:
    """Register :func:`load_from_local` and :func:`load_from_url` with MMEngine's
    ``CheckpointLoader``; ``open-mmlab://``, ``torchvision://`` and ``mmcls://``, which call
    MMEngine's ``load_from_http`` by name, reach :func:`load_from_url` too."""
    from mmengine.runner import checkpoint
    checkpoint.CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    checkpoint.CheckpointLoader.register_scheme(prefixes=('http://', 'https://'),
                                                loader=load_from_url, force=True)
    checkpoint.load_from_http = load_from_url
