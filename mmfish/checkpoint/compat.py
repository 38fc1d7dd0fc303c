"""Let MMEngine 0.10.x resume from its own checkpoints on torch >= 2.6, without weakening
weights-only loading.

torch 2.6 made ``torch.load`` default to ``weights_only=True``; MMEngine 0.10.7 calls it
without ``weights_only``, and the checkpoints it writes hold a few non-tensor objects: the
message hub's ``HistoryBuffer``, numpy arrays and scalars, and the buffer's statistics methods
(``HistoryBuffer.mean``, ...), which pickle writes as ``getattr(HistoryBuffer, 'mean')``.

This module adds those types to torch's weights-only allowlist. ``getattr`` itself is never
allowed: from a general ``getattr`` a pickle reaches any attribute of any allowed object (and
through ``getattr(getattr, '__self__')`` the ``builtins`` module, ``eval`` included). Instead a
stand-in, :func:`history_buffer_getattr`, takes the name ``builtins.getattr`` in the allowlist
and resolves exactly the attributes MMEngine pickles, the statistics methods of
``HistoryBuffer``; any other ``getattr`` in a checkpoint stops the load with an
``UnpicklingError``.

MMEngine's loader of local files (``--resume``, ``load_from``, ``init_cfg`` of toolbox models)
is replaced by one that loads the same way and, when a file cannot be read (empty, truncated,
refused by weights-only loading), raises :class:`mmfish.checkpoint.CheckpointError` naming
the file and the likely cause instead of a bare ``EOFError``.
"""
import os.path as osp
import pickle

import numpy as np
import torch

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

_NUMPY_SCALAR_TYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                       np.uint32, np.uint64, np.float16, np.float32, np.float64)

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
    ``torch.serialization.add_safe_globals`` takes (an object, or (stand-in, full name))."""
    from mmengine.logging import HistoryBuffer
    allowed = [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr'), np.ndarray,
               np.dtype, _multiarray._reconstruct, _multiarray.scalar]
    # numpy >= 1.25 pickles a dtype through its class (numpy.dtypes.Float64DType, ...)
    allowed += [type(np.dtype(t)) for t in _NUMPY_SCALAR_TYPES
                if type(np.dtype(t)) is not np.dtype]
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
    """MMEngine's ``load_from_local`` (same loading), with errors that name the file."""
    from .io import CheckpointError, describe_unreadable
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location)
    except Exception as exc:
        raise CheckpointError(describe_unreadable(filename, exc)) from exc


def name_unreadable_checkpoints() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)


allow_mmengine_checkpoints()
name_unreadable_checkpoints()
