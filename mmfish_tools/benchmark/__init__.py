"""Side-by-side benchmark of mmfish's backbones and their peer implementations
(``tools/benchmark.py``, on the CPU or a GPU), and the GPU check (``make gpu-check``,
:mod:`.gpu_check`)."""
from .core import (
    ALSO,
    AMP_DTYPES,
    EQUALITY_TOLERANCE,
    FLOAT32_EQUALITY_TOLERANCE,
    TRAIN_EQUALITY_TOLERANCE,
    DeviceUnavailable,
    EqualityError,
    Row,
    run,
)
from .peers import SUBJECTS, Impl, PeerUnavailable, Subject

__all__ = ['ALSO', 'AMP_DTYPES', 'DeviceUnavailable', 'EQUALITY_TOLERANCE', 'EqualityError',
           'FLOAT32_EQUALITY_TOLERANCE', 'Impl', 'PeerUnavailable', 'Row', 'SUBJECTS', 'Subject',
           'TRAIN_EQUALITY_TOLERANCE', 'run']
