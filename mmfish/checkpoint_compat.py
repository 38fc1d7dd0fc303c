"""Let MMEngine 0.10.x resume from its own checkpoints on torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``; MMEngine 0.10.7 calls it
without ``weights_only``, and the checkpoints it writes hold a few non-tensor objects: the
message hub's ``HistoryBuffer`` (with references to its statistics methods, pickled through
``getattr``) and numpy arrays and scalars. This module allows exactly those types through
``torch.serialization.add_safe_globals``; weights-only loading stays on for everything else.
"""
import numpy as np
import torch

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

_NUMPY_SCALAR_TYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                       np.uint32, np.uint64, np.float16, np.float32, np.float64)


def mmengine_checkpoint_globals() -> list:
    """The globals an MMEngine training checkpoint references, beyond torch's defaults."""
    from mmengine.logging import HistoryBuffer
    allowed = [HistoryBuffer, getattr, np.ndarray, np.dtype, _multiarray._reconstruct,
               _multiarray.scalar]
    # numpy >= 1.25 pickles a dtype through its class (numpy.dtypes.Float64DType, ...)
    allowed += [type(np.dtype(t)) for t in _NUMPY_SCALAR_TYPES
                if type(np.dtype(t)) is not np.dtype]
    return allowed


def allow_mmengine_checkpoints() -> None:
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


allow_mmengine_checkpoints()
