"""Side-by-side benchmark of mmfish's backbones and their peer implementations
(``tools/benchmark.py``)."""
from .core import ALSO, EQUALITY_TOLERANCE, TRAIN_EQUALITY_TOLERANCE, EqualityError, Row, run
from .peers import SUBJECTS, Impl, PeerUnavailable, Subject

__all__ = ['ALSO', 'EQUALITY_TOLERANCE', 'EqualityError', 'Impl', 'PeerUnavailable', 'Row',
           'SUBJECTS', 'Subject', 'TRAIN_EQUALITY_TOLERANCE', 'run']
