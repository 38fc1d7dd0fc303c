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
