"""What a weights file is, told from its first bytes, and what reading it may allocate, told
before anything is read.

:func:`sniff` tells PyTorch's zip and legacy formats, bare pickles (PaddlePaddle's
``.pdparams``) and safetensors apart from the files users give by mistake (tar, gzip, JSON,
HDF5, NumPy, TorchScript and other zip archives), without running anything.

:func:`check_declared_sizes` reads the storage sizes that a PyTorch checkpoint's pickle
declares, by walking its opcodes (nothing is imported or built), and checks them against the
file before ``torch.load`` allocates or inflates anything: each storage must fit the bytes the
file holds for it, a compressed record (``torch.save`` writes none) may not inflate more than
:data:`MAX_INFLATION` times, and the total may not exceed :func:`size_limit`
(``$MMFISH_MAX_CHECKPOINT_SIZE``, 16 GiB by default).

:func:`check_declared_sizes` also refuses a zip checkpoint that holds two members of one name
(names equal but for case included: PyTorch's reader finds members ignoring case), as
:class:`DuplicateMemberError`: zip readers disagree on which of them counts (Python's ``zipfile``
takes the last, PyTorch's reader the one its search of the sorted names meets, which depends on
the other names), so the pickle checked here need not be the one that ``torch.load``
unpickles.

:func:`read_safetensors` reads the model hubs' format: a JSON header and raw little-endian
tensors, which cannot carry code. It refuses what the format's own reader (the ``safetensors``
package) refuses: a header that is not strict JSON (duplicate names, ``NaN``, nesting deeper
than :data:`MAX_SAFETENSORS_DEPTH`), ``__metadata__`` that is not a table of strings, shapes whose
sizes overflow 64 bits, and data offsets that do not cover the data exactly (tensors that overlap,
bytes that no tensor refers to).
"""
import functools
import json
import os
import pickletools
import re
import struct
import zipfile
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

__all__ = ['FORMATS', 'LIMIT_ENV', 'MAX_INFLATION', 'DuplicateMemberError', 'SizeError',
           'check_declared_sizes', 'read_safetensors', 'size_limit', 'sniff']

#: the environment variable that overrides :data:`DEFAULT_LIMIT` (bytes, or e.g. ``32G``)
LIMIT_ENV = 'MMFISH_MAX_CHECKPOINT_SIZE'
DEFAULT_LIMIT = 16 << 30
#: how many times its compressed size a zip record may inflate to (zeros compress about 1000x)
MAX_INFLATION = 16
#: the largest safetensors header read (the format's own readers use 100 MB)
MAX_SAFETENSORS_HEADER = 100 << 20
#: how deep a safetensors header's JSON may nest (that of the format's own reader, serde_json's
#: default; a valid header nests 3 deep)
MAX_SAFETENSORS_DEPTH = 128
#: a safetensors size (a dimension, an element or byte count) must stay below this (torch's
#: int64 sizes; the format's reader refuses what overflows 64 bits)
MAX_SAFETENSORS_SIZE = 1 << 63

#: what each kind of file is, for messages
FORMATS = {
    'torch-zip': "PyTorch's zip checkpoint format (torch.save, PyTorch >= 1.6)",
    'torch-legacy': "PyTorch's legacy checkpoint format (torch.save before PyTorch 1.6)",
    'pickle': 'a bare pickle (PaddlePaddle .pdparams)',
    'safetensors': 'safetensors',
    'empty': 'an empty file',
    'tar': 'a tar archive',
    'gzip': 'a gzip-compressed file',
    'json': 'a JSON text file',
    'hdf5': 'an HDF5 file (Keras/TensorFlow .h5 weights?)',
    'npy': 'a NumPy .npy array file',
    'npz': 'a NumPy .npz archive',
    'torchscript': 'a TorchScript archive (torch.jit.save)',
    'zip': 'a zip archive that is not a PyTorch checkpoint (it has no data.pkl)',
    'unknown': 'no format mmfish knows',
}


class SizeError(ValueError):
    """A checkpoint whose declared sizes do not fit the file or exceed the limit."""


class DuplicateMemberError(SizeError):
    """A zip checkpoint with two members of one name, of which readers pick different ones
    (a :class:`SizeError`, so every caller of :func:`check_declared_sizes` refuses it)."""


# -- what a file is ---------------------------------------------------------------------------
def _pickle_body(head: bytes) -> Optional[bytes]:
    """The bytes after a pickle's PROTO (and protocol 4's FRAME) opcode, or None."""
    if len(head) < 3 or head[0] != 0x80 or head[1] not in (2, 3, 4, 5):
        return None
    body = head[2:]
    return body[9:] if body[:1] == b'\x95' else body


def _is_safetensors(head: bytes) -> bool:
    if len(head) < 10:
        return False
    (length, ) = struct.unpack('<Q', head[:8])  # the reader says when it exceeds the file
    return 2 <= length <= MAX_SAFETENSORS_HEADER and head[8:9] == b'{'


def _zip_kind(path: str) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return 'torch-zip'  # a damaged archive: torch's reader says what is wrong
    if any(n.endswith('/constants.pkl') for n in names):
        return 'torchscript'
    if any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
        return 'torch-zip'
    if names and all(n.endswith('.npy') for n in names):
        return 'npz'
    return 'zip'


def sniff(path: str) -> str:
    """The kind of ``path``, a key of :data:`FORMATS`, from its first bytes (and, for zip
    archives, their file list)."""
    with open(path, 'rb') as f:
        head = f.read(512)
    body = _pickle_body(head)
    if not head:
        return 'empty'
    if head[:4] in (b'PK\x03\x04', b'PK\x05\x06'):
        return _zip_kind(path)
    if body is not None:
        return 'torch-legacy' if body.startswith(b'\x8a\x0a') else 'pickle'
    if head[257:262] == b'ustar':
        return 'tar'
    if head[:2] == b'\x1f\x8b':
        return 'gzip'
    if head[:8] == b'\x89HDF\r\n\x1a\n':
        return 'hdf5'
    if head[:6] == b'\x93NUMPY':
        return 'npy'
    if _is_safetensors(head):
        return 'safetensors'
    if head.lstrip()[:1] in (b'{', b'['):
        return 'json'
    return 'unknown'


# -- declared sizes ---------------------------------------------------------------------------
def size_limit() -> int:
    """The most bytes a checkpoint may declare: ``$MMFISH_MAX_CHECKPOINT_SIZE`` (a number of
    bytes, or with a K, M, G or T suffix), else 16 GiB."""
    text = os.environ.get(LIMIT_ENV, '').strip()
    if not text:
        return DEFAULT_LIMIT
    m = re.fullmatch(r'(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?', text, re.IGNORECASE)
    if not m:
        raise SizeError(f'{LIMIT_ENV}={text!r} is invalid: give a number of bytes, or one with '
                        f'a K, M, G or T suffix, e.g. 32G')
    return int(float(m.group(1)) * 1024 ** ' KMGT'.index(m.group(2).upper() or ' '))


def _size(n: int) -> str:
    for unit in ('bytes', 'KiB', 'MiB', 'GiB'):
        if n < 1024 or unit == 'GiB':
            return f'{n} {unit}' if unit == 'bytes' else f'{n:.1f} {unit}'
        n /= 1024


class _Global(str):
    """A GLOBAL opcode's ``module.name``, as the walker sees it."""


_UNKNOWN = object()
_MARK = object()
_TUPLE_SIZES = {'TUPLE1': 1, 'TUPLE2': 2, 'TUPLE3': 3, 'EMPTY_TUPLE': 0}
_CONSTANTS = {'BININT', 'BININT1', 'BININT2', 'INT', 'LONG', 'LONG1', 'LONG4', 'BINUNICODE',
              'SHORT_BINUNICODE', 'BINUNICODE8', 'UNICODE', 'STRING', 'BINSTRING',
              'SHORT_BINSTRING', 'BINFLOAT', 'FLOAT'}


def _pop_to_mark(stack: list) -> list:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is _MARK:
            items = stack[i + 1:]
            del stack[i:]
            return items
    raise SizeError('a MARK is missing')


def _pop(stack: list, n: int) -> None:
    if n > len(stack):
        raise SizeError('the stack underflows')
    del stack[len(stack) - n:]


def persistent_ids(source) -> List[tuple]:
    """The persistent ids (tuples of constants) that one pickle in ``source`` (bytes, or a file
    positioned at its start, left after its STOP) declares: its opcodes are walked with a
    stack of constants, so nothing is imported or built."""
    stack, memo, found = [], {}, []
    try:
        for op, arg, _ in pickletools.genops(source):
            name = op.name
            if name in _CONSTANTS:
                stack.append(arg)
            elif name in ('NONE', 'NEWTRUE', 'NEWFALSE'):
                stack.append({'NONE': None, 'NEWTRUE': True, 'NEWFALSE': False}[name])
            elif name == 'MARK':
                stack.append(_MARK)
            elif name == 'TUPLE':
                stack.append(tuple(_pop_to_mark(stack)))
            elif name in _TUPLE_SIZES:
                n = _TUPLE_SIZES[name]
                items = tuple(stack[len(stack) - n:]) if n else ()
                _pop(stack, n)
                stack.append(items)
            elif name == 'GLOBAL':
                stack.append(_Global(arg.replace(' ', '.')))
            elif name in ('BINPUT', 'LONG_BINPUT', 'PUT', 'MEMOIZE'):
                memo[len(memo) if name == 'MEMOIZE' else arg] = stack[-1]
            elif name in ('BINGET', 'LONG_BINGET', 'GET'):
                stack.append(memo.get(arg, _UNKNOWN))
            elif name == 'BINPERSID':
                found.append(stack.pop())
                stack.append(_UNKNOWN)
            elif name == 'PERSID':
                found.append(arg)
                stack.append(_UNKNOWN)
            else:  # anything else: its effect on the stack's depth
                before = op.stack_before
                if pickletools.markobject in before:
                    _pop_to_mark(stack)
                    _pop(stack, before.index(pickletools.markobject))
                else:
                    _pop(stack, len(before))
                stack.extend([_UNKNOWN] * len(op.stack_after))
    except (ValueError, IndexError, KeyError) as exc:  # genops' own errors, a short stack
        raise SizeError(f'its pickle is malformed ({type(exc).__name__}: {exc})') from None
    return found


@functools.lru_cache(maxsize=1)
def _element_sizes() -> Dict[str, int]:
    """Bytes per element of each storage type a checkpoint may name (``FloatStorage``: 4)."""
    sizes = {'UntypedStorage': 1}
    for dtype, name in torch.storage._dtype_to_storage_type_map().items():
        sizes[name] = dtype.itemsize
    return sizes


def _declared_storages(pids: List[tuple]) -> Dict[str, int]:
    """``{storage key: bytes declared}`` from torch's ``('storage', type, key, location,
    numel, ...)`` persistent ids."""
    sizes, declared = _element_sizes(), {}
    for pid in pids:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == 'storage'):
            raise SizeError(f'it declares a persistent id {pid!r:.80} that is not a storage')
        kind, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(numel, int) or numel < 0:
            raise SizeError(f'storage {key!r} declares {numel!r} elements')
        element = sizes.get(str(kind).rsplit('.', 1)[-1], 1)
        declared[str(key)] = max(declared.get(str(key), 0), numel * element)
    return declared


def _check_total(total: int, path: str, what: str) -> None:
    limit = size_limit()
    if total > limit:
        raise SizeError(f'{path} declares {what} of {_size(total)} in all, more than the limit '
                        f'of {_size(limit)}: a file crafted to exhaust memory, or a checkpoint '
                        f'larger than any mmfish expects; if you trust it, raise the limit with '
                        f'{LIMIT_ENV}=<bytes, e.g. 64G>')


#: how many repeated member names an error shows
_SHOWN_NAMES = 5


def _check_unique_members(path: str, infos: List[zipfile.ZipInfo]) -> None:
    """Raise :class:`DuplicateMemberError` when two members of the archive ``path`` have one
    name, compared ignoring case as PyTorch's reader (miniz) finds members."""
    groups: Dict[str, List[str]] = {}
    for info in infos:
        groups.setdefault(info.filename.lower(), []).append(info.filename)
    repeated = [names for names in groups.values() if len(names) > 1]
    if not repeated:
        return
    shown = '; '.join(
        f'{names[0]!r} {len(names)} times' if len(set(names)) == 1 else
        ' and '.join(repr(n) for n in names) for names in repeated[:_SHOWN_NAMES])
    more = f' and {len(repeated) - _SHOWN_NAMES} more' if len(repeated) > _SHOWN_NAMES else ''
    raise DuplicateMemberError(
        f'{path}: the zip archive holds members of one name more than once ({shown}{more}); '
        f'zip readers disagree on which of them counts (Python\'s zipfile reads the last, '
        f'PyTorch\'s reader, which ignores case, the one its search meets), so the pickle '
        f'checked before loading need not be the one loaded. Nothing in it was unpickled: '
        f'torch.save never repeats a name, so the file is crafted or damaged')


def _check_zip(path: str) -> None:
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        _check_unique_members(path, infos)
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.compress_type != zipfile.ZIP_STORED and ratio > MAX_INFLATION:
                raise SizeError(
                    f'{path}: the record {info.filename} inflates from {_size(info.compress_size)}'
                    f' to {_size(info.file_size)} ({ratio:.0f}x); torch.save writes records '
                    f'uncompressed, and one that inflates more than {MAX_INFLATION}x is a '
                    f'compression bomb, not weights')
        _check_total(sum(i.file_size for i in infos), path, 'records')
        pickles = [i for i in infos if i.filename == 'data.pkl'
                   or i.filename.endswith('/data.pkl')]
        if len(pickles) != 1:
            return  # torch's reader refuses it with its own message
        prefix = pickles[0].filename[:-len('data.pkl')]
        records = {i.filename[len(prefix) + len('data/'):]: i.file_size for i in infos
                   if i.filename.startswith(prefix + 'data/')}
        declared = _declared_storages(persistent_ids(z.read(pickles[0])))
    for key, nbytes in declared.items():
        if key not in records:
            raise SizeError(f'{path}: its pickle declares storage {key!r}, which the file does '
                            f'not hold (no record data/{key}): the file is damaged or crafted')
        if nbytes > records[key]:
            raise SizeError(f'{path}: its pickle declares {nbytes} bytes for storage {key!r}, '
                            f'but the file holds {records[key]} for it: reading it would run '
                            f'past the data (the file is damaged or crafted)')


def _check_legacy(path: str) -> None:
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        for _ in range(3):  # the magic number, the protocol version, the system info
            persistent_ids(f)
        declared = _declared_storages(persistent_ids(f))
        remaining = size - f.tell()
    total = sum(declared.values())
    _check_total(total, path, 'storages')
    if total > remaining:
        raise SizeError(f'{path}: its pickle declares storages of {total} bytes in all, but '
                        f'only {remaining} bytes follow it: the file is truncated, damaged or '
                        f'crafted')


def check_declared_sizes(path: str, kind: Optional[str] = None) -> None:
    """Raise :class:`SizeError` when the storages that the PyTorch checkpoint ``path``
    declares do not fit the file, inflate beyond :data:`MAX_INFLATION`, or exceed
    :func:`size_limit` in all; files in other formats pass."""
    kind = kind or sniff(path)
    try:
        if kind == 'torch-zip':
            _check_zip(path)
        elif kind == 'torch-legacy':
            _check_legacy(path)
    except SizeError as exc:
        if str(exc).startswith(path):
            raise
        raise SizeError(f'{path} cannot be a checkpoint: {exc}') from None
    except (zipfile.BadZipFile, EOFError, OSError, struct.error):
        return  # damaged: torch's reader says how


# -- safetensors ------------------------------------------------------------------------------
_SAFETENSORS_DTYPES = {
    'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
    'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8,
    'U8': torch.uint8, 'BOOL': torch.bool,
    'F8_E4M3': torch.float8_e4m3fn, 'F8_E5M2': torch.float8_e5m2,
}


class _DuplicateName(ValueError):
    """A JSON object that names one key twice (its ``args[0]``)."""


def _unique_names(pairs: list) -> dict:
    """A JSON object as a dict, refusing a key it names twice (``json`` keeps the last)."""
    table = {}
    for key, value in pairs:
        if key in table:
            raise _DuplicateName(key)
        table[key] = value
    return table


def _no_constant(name: str):
    raise ValueError(f'{name} is not a JSON value')


#: the bytes that are not JSON brackets, for :func:`_json_depth`
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b'[]{}')
#: how many bytes of a header :func:`_json_depth` looks at at once
_CHUNK = 1 << 20


def _json_depth(raw: bytes) -> int:
    """How deep the JSON text ``raw`` nests, told without parsing it (a parser recurses, and
    a crafted text nests deeper than any stack): its brackets outside strings, counted in
    chunks of :data:`_CHUNK` bytes."""
    # escaped backslashes, then escaped quotes (a run of backslashes pairs from its start):
    # every quote left opens or closes a string
    text = raw.replace(b'\\\\', b'').replace(b'\\"', b'')
    inside = False
    depth = deepest = 0
    for start in range(0, len(text), _CHUNK):
        parts = text[start:start + _CHUNK].split(b'"')
        outside = b''.join(parts[1 if inside else 0::2])  # the text between the strings
        inside ^= len(parts) % 2 == 0
        brackets = outside.translate(None, _NOT_BRACKETS)
        if brackets:
            codes = torch.frombuffer(bytearray(brackets), dtype=torch.uint8)
            levels = torch.where((codes == ord('[')) | (codes == ord('{')), 1, -1).cumsum(0)
            levels += depth
            deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
    return deepest


def _safetensors_header(path: str, f) -> Tuple[dict, int]:
    size = os.path.getsize(path)
    raw = f.read(8)
    if len(raw) < 8:
        raise ValueError(f'{path} is too short for safetensors ({size} bytes)')
    (length, ) = struct.unpack('<Q', raw)
    if length > min(MAX_SAFETENSORS_HEADER, size - 8):
        raise ValueError(f'{path}: the safetensors header declares {length} bytes, but the file '
                         f'holds {size - 8} after its length (the limit is '
                         f'{_size(MAX_SAFETENSORS_HEADER)}): truncated or not safetensors')
    raw = f.read(length)
    depth = _json_depth(raw)
    if depth > MAX_SAFETENSORS_DEPTH:
        raise ValueError(f'{path}: the safetensors header nests {depth} levels deep; the '
                         f"format's readers allow {MAX_SAFETENSORS_DEPTH} (a table of tensors "
                         f'nests 3): crafted or damaged')
    try:
        header = json.loads(raw.decode('utf-8'), object_pairs_hook=_unique_names,
                            parse_constant=_no_constant)
    except _DuplicateName as exc:
        raise ValueError(f'{path}: the safetensors header names {str(exc.args[0])[:200]!r} '
                         f'twice in one table; JSON readers disagree on which one counts '
                         f'(Python keeps the last) and the format refuses it: crafted or '
                         f'damaged') from None
    except RecursionError:  # deeper than this interpreter's limit, lower than the format's
        raise ValueError(f'{path}: the safetensors header nests {depth} levels deep, deeper '
                         f'than Python can read: crafted or damaged') from None
    except (UnicodeDecodeError, ValueError) as exc:  # json.JSONDecodeError, NaN, Infinity
        raise ValueError(f'{path}: the safetensors header is not JSON ({exc})') from None
    if not isinstance(header, dict):
        raise ValueError(f'{path}: the safetensors header is a {type(header).__name__}, not a '
                         f'table of tensors')
    return header, size - 8 - length


def _metadata(path: str, header: dict) -> Dict[str, str]:
    """The header's ``__metadata__`` (removed from it), which the format makes a table of
    strings (absent or ``null``: an empty one)."""
    metadata = header.pop('__metadata__', None)
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        problem = f'it is {json.dumps(metadata)[:100]}, not a table'
    else:
        key = next((k for k, v in metadata.items() if not isinstance(v, str)), None)
        if key is None:
            return metadata
        problem = f'its value for {key[:100]!r} is {json.dumps(metadata[key])[:100]}, not a string'

    raise ValueError(f'{path}: the safetensors __metadata__ must be a table of strings, as the '
                     f'format defines it, but {problem}: crafted or damaged')


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tensor_entry(path: str, name: str, entry, data_size: int):
    """``(dtype, shape, begin, end)`` of a header entry, checked against the data."""
    if not (isinstance(entry, dict) and entry.get('dtype') in _SAFETENSORS_DTYPES
            and isinstance(entry.get('shape'), list)
            and all(_is_int(s) and s >= 0 for s in entry['shape'])
            and isinstance(entry.get('data_offsets'), list) and len(entry['data_offsets']) == 2
            and all(_is_int(o) for o in entry['data_offsets'])):
        raise ValueError(f'{path}: the safetensors entry {name!r} is not a tensor of a known '
                         f'dtype ({", ".join(_SAFETENSORS_DTYPES)}) with a shape and '
                         f'data_offsets: {entry!r:.200}')
    dtype, shape = _SAFETENSORS_DTYPES[entry['dtype']], tuple(entry['shape'])
    begin, end = entry['data_offsets']
    numel = 1
    for s in shape:  # as the format's reader multiplies, each product checked
        numel *= s
        if s >= MAX_SAFETENSORS_SIZE or numel >= MAX_SAFETENSORS_SIZE:
            break
    nbytes = numel * dtype.itemsize
    if max(shape, default=0) >= MAX_SAFETENSORS_SIZE or nbytes >= MAX_SAFETENSORS_SIZE:
        raise ValueError(f'{path}: the safetensors entry {name!r} has the shape '
                         f'{list(shape)!r:.200} ({entry["dtype"]}), whose sizes overflow: each '
                         f'dimension, the element count and the byte count must stay below '
                         f'2**63: crafted or damaged')
    if not 0 <= begin <= end <= data_size or end - begin != nbytes:
        raise ValueError(f'{path}: the safetensors entry {name!r} ({entry["dtype"]} '
                         f'{shape!r:.200}, '
                         f'{nbytes} bytes) has data_offsets [{begin}, {end}], which do not fit '
                         f'its size or the {data_size} bytes of data: truncated or damaged')
    return dtype, shape, begin, end


def _check_coverage(path: str, entries: dict, data_size: int) -> list:
    """The entries ``{name: (dtype, shape, begin, end)}`` in the order of their offsets, which
    must cover the ``data_size`` bytes of data exactly, as the format requires: one after the
    other, without overlap or gap, the last ending at the end of the file."""
    ordered = sorted(entries.items(), key=lambda item: item[1][2:])
    position, previous = 0, None
    for name, (_, _, begin, end) in ordered:
        if begin < position:
            raise ValueError(
                f'{path}: the safetensors entries {previous!r} (data_offsets '
                f'{list(entries[previous][2:])}) and {name!r} ({[begin, end]}) overlap: the '
                f'format gives each tensor bytes of its own (one written through the other '
                f'would change both): crafted or damaged')
        if begin > position:
            where = f'between {previous!r} and {name!r}' if previous else f'before {name!r}'
            raise ValueError(
                f'{path}: bytes {position} to {begin} of the safetensors data ({where}) belong '
                f'to no tensor; the format requires the tensors to cover the data exactly, so '
                f'the file is crafted or damaged')
        position, previous = end, name
    if position != data_size:
        raise ValueError(
            f'{path}: the last {data_size - position} bytes of the safetensors data (from byte '
            f'{position}, after ' + (f'{previous!r}' if previous else 'the header')
            + ') belong to no tensor; the format requires the tensors to cover the data '
            'exactly, so the file is crafted or damaged (or has bytes appended)')
    return ordered


def read_safetensors(path: str) -> dict:
    """The tensors of a safetensors file: ``{'state_dict': {name: tensor}, 'meta':
    {'safetensors': its __metadata__}}``. The header is checked as the format's own reader
    checks it, every entry against the file, before any tensor's bytes are read; ValueError
    names the file and says what does not fit."""
    path = str(path)
    state = OrderedDict()
    with open(path, 'rb') as f:
        header, data_size = _safetensors_header(path, f)
        start = f.tell()
        metadata = _metadata(path, header)
        entries = {name: _tensor_entry(path, name, entry, data_size)
                   for name, entry in header.items()}
        for name, (dtype, shape, begin, end) in _check_coverage(path, entries, data_size):
            f.seek(start + begin)
            data = bytearray(f.read(end - begin))
            tensor = torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
            state[name] = tensor.reshape(shape)
    ordered = OrderedDict((name, state[name]) for name in header)  # the header's order
    return dict(state_dict=ordered, meta=dict(safetensors=dict(metadata)))
