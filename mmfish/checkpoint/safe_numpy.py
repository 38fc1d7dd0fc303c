"""numpy arrays and scalars of numbers, rebuilt from a pickle without letting it reach numpy's
own constructors.

A pickle of a numpy array calls ``numpy.core.multiarray._reconstruct`` (numpy 2:
``numpy._core.multiarray``) and then sets the array's state: its shape, its dtype and its raw
bytes. The dtype comes from ``numpy.dtype(code)``, whose pickled state can also set fields,
sub-arrays and flags. With numpy's own classes, a crafted pickle gives an array an object field
over raw bytes, which numpy then reads as pointers: touching the array crashes the process.

The stand-ins here take those names in a restricted unpickler (torch's weights-only allowlist,
:mod:`mmfish.checkpoint.compat`; the PaddlePaddle reader, :mod:`mmfish.checkpoint.paddle`):
:class:`UnpickledDtype` builds numeric dtypes only (kinds ``b i u f c``) and lets their state
set the byte order alone, :class:`UnpickledArray` is filled from exactly its bytes,
:func:`numpy_scalar` from exactly the scalar's. Object, structured, string and datetime dtypes
are refused before numpy sees them, as is any call of the array constructor (a buffer, an offset
or strides).
"""
import pickle

import numpy as np

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

__all__ = ['MULTIARRAY_MODULES', 'NUMERIC_KINDS', 'NdarrayToken', 'UnpickledArray',
           'UnpickledDtype', 'empty_bytes', 'numpy_scalar', 'reconstruct_array']

#: numpy dtype kinds a checkpoint may hold: bool, signed, unsigned, float, complex. Object,
#: structured (void), string and datetime dtypes are refused before numpy sees them
NUMERIC_KINDS = 'biufc'
#: the state numpy's ``dtype.__reduce__`` gives every numeric dtype, but for its byte order
_NUMERIC_DTYPE_STATE = (None, None, None, -1, -1, 0)
#: where numpy 1.x and 2.x pickle their array and scalar reconstruction
MULTIARRAY_MODULES = ('numpy.core.multiarray', 'numpy._core.multiarray')


def _refuse(what: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(
        f'the checkpoint asks for {what}, which weights-only loading refuses: only numeric '
        f'arrays are read (numpy arrays and scalars of bool, integer, float or complex dtypes; '
        f'no object, structured, string or date fields). The file is not a checkpoint of '
        f'weights; do not load it with weights_only=False unless you trust its source.')


class UnpickledDtype:
    """What ``numpy.dtype`` resolves to while a checkpoint is unpickled: a numeric dtype (its
    ``dtype``), built from a type code such as ``'f8'``, whose pickled state may set only its
    byte order. Arrays and scalars take it in place of a real dtype; pickled again, it is one."""
    __slots__ = ('dtype', )

    def __init__(self, spec, align=False, copy=False):
        if not isinstance(spec, str) or len(spec) > 4 or not isinstance(align, bool) or \
                not isinstance(copy, bool):
            raise _refuse(f'numpy.dtype{(spec, align, copy)!r:.80}')
        try:
            dtype = np.dtype(spec)
        except TypeError:
            raise _refuse(f'numpy.dtype({spec!r})') from None
        if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
            raise _refuse(f'numpy.dtype({spec!r}) (kind {dtype.kind!r})')
        self.dtype = dtype

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 8 and state[0] == 3
                and state[1] in ('<', '>', '|', '=') and state[2:] == _NUMERIC_DTYPE_STATE):
            raise _refuse(f'a numpy dtype with the state {state!r:.120} (fields, sub-arrays or '
                          f'flags)')
        if state[1] in '<>':
            self.dtype = self.dtype.newbyteorder(state[1])

    def __reduce__(self):
        return self.dtype.__reduce__()

    def __repr__(self):
        return repr(self.dtype)


def _real_dtype(dtype) -> np.dtype:
    if not isinstance(dtype, UnpickledDtype) or not hasattr(dtype, 'dtype'):
        raise _refuse(f'an array or scalar of {type(dtype).__name__}, not a numeric dtype')
    return dtype.dtype


class UnpickledArray(np.ndarray):
    """A numpy array read from a checkpoint: numeric, C or Fortran ordered, its bytes exactly
    its size. It is an ``ndarray`` in every use, and pickled again it is a plain one. Only
    numpy's array reconstruction makes one; calling the class is refused, so that a pickle
    cannot hand numpy a buffer, offset or strides."""

    def __new__(cls, *args, **kwargs):
        raise _refuse('numpy array construction from arguments')

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise _refuse(f'a numpy array with the state {state!r:.80}')
        version, shape, dtype, fortran, raw = state
        dtype = _real_dtype(dtype)
        if version != 1 or not isinstance(fortran, bool) or not isinstance(shape, tuple) or \
                not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                        for s in shape):
            raise _refuse(f'a numpy array of shape {shape!r:.80} (version {version!r})')
        size = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        if not isinstance(raw, bytes) or len(raw) != size:
            raise _refuse(f'a numpy array of {dtype} {shape} ({size} bytes) from '
                          f'{len(raw) if isinstance(raw, bytes) else type(raw).__name__} bytes')
        super().__setstate__((version, shape, dtype, fortran, raw))

    def __reduce__(self):
        return self.view(np.ndarray).__reduce__()

    def __reduce_ex__(self, protocol):
        return self.view(np.ndarray).__reduce_ex__(protocol)


def empty_bytes(*args):
    """``bytes()`` as numpy pickles an empty array's data; any argument is refused (``bytes(n)``
    would allocate n bytes)."""
    if args:
        raise _refuse(f'bytes{args!r:.40}')
    return b''


class NdarrayToken:
    """What ``numpy.ndarray`` resolves to: only :func:`reconstruct_array` accepts it; calling
    it (the array constructor, with a buffer, an offset or strides) is refused."""

    def __new__(cls, *args, **kwargs):
        raise _refuse('numpy array construction from arguments')


def reconstruct_array(subtype, shape, dtype):
    """numpy's ``_reconstruct`` as a checkpoint calls it: an empty :class:`UnpickledArray`,
    which the pickle's state then fills (and checks)."""
    if subtype is not NdarrayToken:
        raise _refuse(f'array reconstruction of {subtype!r:.80}')
    return _multiarray._reconstruct(UnpickledArray, (0, ), b'b')


def numpy_scalar(dtype, data=None):
    """numpy's ``scalar`` as a checkpoint calls it: a numeric scalar from exactly its bytes."""
    dtype = _real_dtype(dtype)
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise _refuse(f'a numpy {dtype} scalar from {type(data).__name__} '
                      f'{len(data) if isinstance(data, bytes) else ""}')
    return _multiarray.scalar(dtype, data)
