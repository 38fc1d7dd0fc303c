"""Reading PaddlePaddle's ``.pdparams`` files without Paddle and without running their code.

``paddle.save(layer.state_dict(), path)`` (and ``fluid.save_dygraph``, ``paddle.static.save``)
writes a plain pickle (protocol 2, 3 or 4) of a ``dict``: each state-dict name maps to a numpy
array, ``'StructuredToParameterName@@'`` maps each name to the parameter's Paddle name
(``conv1_1_weights``, ...), and with protocols 2 and 3 a tensor over 1 GiB is stored in slices
listed under ``'UnpackBigParamInfor@@'``. PaddleClas releases its weights so.

:func:`read_pdparams` unpickles with :class:`PaddleUnpickler`, which resolves only the globals
that such a pickle holds: numpy's array reconstruction, ``numpy.ndarray`` and ``numpy.dtype``
(numeric dtypes only, as the checked stand-ins of :mod:`mmfish.checkpoint.safe_numpy`: the
pickle can give an array no object or structured fields), ``_codecs.encode`` (how protocol 2
writes bytes; text to latin-1 only) and ``collections.OrderedDict``. Any other global is
refused with a :class:`pickle.UnpicklingError` naming it, before anything it names is imported
or called.
"""
import codecs
import collections
import os
import pickle
from collections import OrderedDict
from typing import Dict

import numpy as np
import torch

from .formats import sniff
from .safe_numpy import MULTIARRAY_MODULES, NdarrayToken, UnpickledDtype, reconstruct_array

__all__ = ['PaddleUnpickler', 'describe_unreadable_pdparams', 'is_paddle_pickle', 'read_pdparams']

NAME_TABLE = 'StructuredToParameterName@@'
SLICES = 'UnpackBigParamInfor@@'
#: numpy dtype kinds a weights file may hold: bool, signed, unsigned, float
NUMERIC_KINDS = 'biuf'

def _encode(text, encoding='latin1'):
    if not isinstance(text, str) or codecs.lookup(encoding).name != 'iso8859-1':
        raise pickle.UnpicklingError(
            f'_codecs.encode({type(text).__name__}, {encoding!r}): only text to latin-1 '
            f'(protocol 2 bytes) is allowed')
    return text.encode('latin1')


_ALLOWED = {
    **{(module, '_reconstruct'): reconstruct_array for module in MULTIARRAY_MODULES},
    ('numpy', 'ndarray'): NdarrayToken,
    ('numpy', 'dtype'): UnpickledDtype,
    ('_codecs', 'encode'): _encode,
    ('collections', 'OrderedDict'): collections.OrderedDict,
}


class PaddleUnpickler(pickle.Unpickler):
    """An unpickler that builds only numpy arrays of numbers and plain containers."""

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f'global {module}.{name} is refused: a Paddle weights file holds only numpy '
                f'arrays (allowed: {", ".join(f"{m}.{n}" for m, n in _ALLOWED)})') from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError('persistent ids are refused: not a Paddle weights file')


def is_paddle_pickle(path: str) -> bool:
    """Whether ``path`` is a bare pickle (protocol 2 to 5) that is not a PyTorch checkpoint
    (torch's zip format, or its legacy format, which begins with a pickled magic number)."""
    return sniff(path) == 'pickle'


def _check_name_table(value, path: str) -> None:
    if not (isinstance(value, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
        raise pickle.UnpicklingError(f'{path}: {NAME_TABLE} is not a table of names')


def _join_slices(obj: dict, path: str) -> None:
    """Put back together the tensors that protocols 2 and 3 store in 1 GiB slices."""
    info = obj.pop(SLICES)
    if not isinstance(info, dict):
        raise pickle.UnpicklingError(f'{path}: {SLICES} is not a table of slices')
    for key, entry in info.items():
        try:
            parts = [obj.pop(part) for part in entry['slices']]
            shape = tuple(int(s) for s in entry['OriginShape'])
            obj[key] = np.concatenate(parts).reshape(shape)
        except (KeyError, TypeError, ValueError) as exc:
            raise pickle.UnpicklingError(f'{path}: the slices of {key} do not fit together '
                                         f'({type(exc).__name__}: {exc})') from None


def read_pdparams(path: str) -> Dict[str, torch.Tensor]:
    """The tensors of a Paddle ``.pdparams`` file, by their state-dict names, as CPU tensors.

    Raises :class:`pickle.UnpicklingError` for a global other than numpy array reconstruction
    (nothing it names is run), and ``pickle.UnpicklingError``, ``EOFError`` or ``ValueError``
    for a truncated file or one that is not a ``dict`` of numeric arrays.
    """
    path = str(path)
    with open(path, 'rb') as f:
        obj = PaddleUnpickler(f).load()
    if not isinstance(obj, dict):
        raise pickle.UnpicklingError(f'{path} holds a {type(obj).__name__}, not a dict of arrays')
    obj = dict(obj)
    if NAME_TABLE in obj:
        _check_name_table(obj.pop(NAME_TABLE), path)
    if SLICES in obj:
        _join_slices(obj, path)
    state = OrderedDict()
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, np.ndarray) or \
                value.dtype.kind not in NUMERIC_KINDS:
            raise pickle.UnpicklingError(
                f'{path}: entry {key!r} is a {type(value).__name__}'
                + (f' of {value.dtype}' if isinstance(value, np.ndarray) else '')
                + ', not a numeric array: not a Paddle weights file')
        state[key] = torch.from_numpy(np.array(value, copy=True))
    return state


def describe_unreadable_pdparams(path: str, exc: BaseException) -> str:
    """Why the bare pickle ``path`` could not be read as Paddle weights, for an error message
    that names the file."""
    message = f'{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ""}'
    if 'is refused' in str(exc) or 'loading refuses' in str(exc):
        return (f'{path} holds objects that the Paddle weights reader refuses, so nothing in it '
                f'was run: it is not a plain .pdparams file of arrays ({message[:300]})')
    return (f'{path} is a bare pickle but could not be read as PaddlePaddle weights '
            f'(.pdparams; is it truncated or corrupt?): {os.path.getsize(path)} bytes; '
            f'{message[:300]}')
