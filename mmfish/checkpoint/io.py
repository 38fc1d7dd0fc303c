"""Reading checkpoints safely and writing files atomically.

Reading: :func:`load_checkpoint` opens any PyTorch checkpoint with weights-only loading (no
code in the file runs) and turns every way a file can be unreadable (missing, empty,
truncated, not a checkpoint, holding foreign objects) into a :class:`CheckpointError` that
names the file. :func:`unwrap_state_dict` finds the weights inside the wrappers users have
(``state_dict``, ``model``, ``state_dict_ema``, DataParallel's ``module.``).

Writing: :func:`write_atomic` writes to a hidden temporary file beside the destination, flushes
it to disk and renames it into place, so the destination is at every instant absent, the old
file or the complete new one. SIGINT, SIGTERM and SIGHUP during the write remove the temporary
file before the process ends; one left by a SIGKILL is removed by the next write into that
folder (:func:`remove_stale_parts`). The file's mode follows the umask, as ``open`` gives.
"""
import os
import os.path as osp
import re
import signal
import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Callable, Dict, Optional, Tuple

import torch

from .paddle import describe_unreadable_pdparams, is_paddle_pickle, read_pdparams


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or whose weights do not fit; the message says why
    and what to do."""


class ConversionError(CheckpointError):
    """A checkpoint that cannot be converted; the message says why and what to do."""


class CheckpointMismatchError(CheckpointError):
    """Pretrained weights that do not fit the backbone they are loaded into (missing or
    unexpected keys, other shapes); the message summarises them and names the likely cause."""


def first_line(exc: BaseException) -> str:
    """``TypeName: first line of the message`` (``TypeName`` alone for an empty message)."""
    lines = str(exc).strip().splitlines()
    return f'{type(exc).__name__}: {lines[0]}' if lines else type(exc).__name__


def describe_unreadable(path: str, exc: BaseException) -> str:
    """Why ``path`` could not be loaded, for an error message that names the file."""
    size = osp.getsize(path) if osp.isfile(path) else None
    if size == 0:
        return f'{path} is empty (0 bytes): the download or the save that made it did not finish'
    if 'weights only' in str(exc).lower() or 'unsupported global' in str(exc).lower() or \
            'getattr(' in str(exc):
        return (f'{path} holds objects that weights-only loading refuses, so nothing in it was '
                f'run: it is not a plain checkpoint of weights ({first_line(exc)[:300]})')
    return (f'{path} could not be read as a PyTorch checkpoint (is it truncated or corrupt, or '
            f'not a checkpoint?): {size} bytes; {first_line(exc)[:300]}')


def load_checkpoint(path: str, error: type = CheckpointError):
    """``torch.load(path, weights_only=True)`` on the CPU, or for a bare pickle (PaddlePaddle's
    ``.pdparams``) :func:`~mmfish.checkpoint.paddle.read_pdparams`, which builds numpy arrays
    and nothing else; any failure raises ``error`` with a message naming the file and the
    likely cause."""
    path = str(path)
    if not osp.exists(path):
        raise error(f'{path}: no such file')
    if not osp.isfile(path):
        raise error(f'{path} is not a file (a directory?): give the checkpoint file')
    if is_paddle_pickle(path):  # a bare pickle, not torch's format: Paddle's .pdparams
        try:
            return read_pdparams(path)
        except Exception as exc:
            raise error(describe_unreadable_pdparams(path, exc)) from None
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:
        raise error(describe_unreadable(path, exc)) from None


def unwrap_state_dict(ckpt, path: str, error: type = ConversionError
                      ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The flat state dict inside a loaded checkpoint, and the rest of the checkpoint.

    Accepts plain state dicts, ``{'state_dict': ...}`` (MMEngine, the official FishNet
    training checkpoints), ``{'model': ...}`` and ``{'state_dict_ema': ...}`` wrappers, and
    strips the ``module.`` prefix that DataParallel adds.
    """
    if not isinstance(ckpt, dict):
        raise error(f'{path} holds a {type(ckpt).__name__}, not a state dict')
    rest = {}
    for key in ('state_dict', 'model', 'state_dict_ema'):
        if isinstance(ckpt.get(key), dict):
            rest = {k: v for k, v in ckpt.items() if k != key}
            ckpt = ckpt[key]
            break
    state = OrderedDict((k, v) for k, v in ckpt.items() if isinstance(v, torch.Tensor))
    if not state:
        raise error(f'{path} holds no tensors: it is not a model checkpoint '
                    f'(top-level keys: {sorted(map(str, ckpt))[:10]})')
    if all(k.startswith('module.') for k in state):
        state = OrderedDict((k[len('module.'):], v) for k, v in state.items())
    return state, rest


def load_state_dict(path: str, error: type = ConversionError
                    ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Read ``path`` (weights only) and return its flat state dict and the rest of the
    checkpoint (see :func:`unwrap_state_dict`). Failures raise ``error``."""
    return unwrap_state_dict(load_checkpoint(path, error), str(path), error)


# -- atomic writing ---------------------------------------------------------------------------
#: a write in progress goes to ``<dir>/.<name>.<pid>.part``
_PART = re.compile(r'^\.(?P<name>.+)\.(?P<pid>\d+)\.part$')


def part_path(path: str, pid: Optional[int] = None) -> str:
    """The temporary file that :func:`write_atomic` writes before renaming it to ``path``."""
    directory, name = osp.split(osp.abspath(path))
    return osp.join(directory, f'.{name}.{os.getpid() if pid is None else pid}.part')


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_parts(directory: str, log: Callable[[str], None] = print) -> list:
    """Remove the temporary files in ``directory`` that :func:`write_atomic` left when its
    process was killed (their process no longer runs); return their paths."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        m = _PART.match(name)
        if m and int(m.group('pid')) != os.getpid() and not _alive(int(m.group('pid'))):
            path = osp.join(directory, name)
            try:
                os.remove(path)
            except OSError:
                continue
            log(f'removed {path}, left by an interrupted write')
            removed.append(path)
    return removed


def fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where directories cannot be
    opened, as on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish_file(tmp: str, path: str) -> None:
    """Flush the complete file ``tmp`` to disk and atomically rename it to ``path``."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(osp.dirname(osp.abspath(path)))


class _Signalled(BaseException):

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_raise():
    """Within the block, SIGTERM and SIGHUP raise :class:`_Signalled` (main thread only), so
    that ``finally`` clauses run; the caller re-delivers the signal afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise _Signalled(signum)

    names = [s for s in ('SIGTERM', 'SIGHUP') if hasattr(signal, s)]
    old = {}
    try:
        for name in names:
            signum = getattr(signal, name)
            old[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, previous in old.items():
            signal.signal(signum, previous)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str):
    """A temporary path to write ``path``'s new content to; when the block ends normally the
    file is flushed to disk, given the umask's mode and renamed to ``path``.

    On any error or interruption the temporary file is removed and ``path`` is untouched; the
    exception (or the signal) is passed on.
    """
    path = osp.abspath(str(path))
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = part_path(path)
    try:
        with _signals_raise():
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())
            publish_file(tmp, path)
    except _Signalled as sig:
        _remove(tmp)
        os.kill(os.getpid(), sig.signum)  # the handler that was in place before the write
        raise SystemExit(128 + sig.signum)
    except BaseException:
        _remove(tmp)
        raise


def write_atomic(path: str, write: Callable, mode: str = 'b') -> None:
    """Write ``path`` atomically: ``write(f)`` fills a temporary file opened in text
    (``mode='t'``) or binary mode (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w' + mode) as f:
            write(f)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def save_atomic(obj, path: str) -> None:
    """``torch.save(obj)`` to ``path`` atomically (see :func:`write_atomic`)."""
    write_atomic(path, lambda f: torch.save(obj, f))


def write_text_atomic(path: str, text: str) -> None:
    """Replace the file ``path`` by ``text``, never leaving it empty or partial."""
    write_atomic(path, lambda f: f.write(text), mode='t')


def check_destination(dst: str, src: Optional[str] = None, error: type = CheckpointError,
                      log: Callable[[str], None] = print) -> str:
    """Make sure ``dst`` can be written before any work starts; return its absolute path.

    ``dst`` must not be a directory, nor the file ``src`` (compared by real path: a symlink or
    hard link to the source counts as the source); its folder is created when missing and must
    be writable. Temporary files left there by killed writes are removed.
    """
    dst = str(dst)
    if osp.isdir(dst):
        raise error(f'the output {dst} is a directory: give a file name, e.g. '
                    f'{osp.join(dst, "model_mmfish.pth")}')
    if src is not None and (osp.realpath(src) == osp.realpath(dst) or (
            osp.exists(dst) and osp.exists(src) and osp.samefile(src, dst))):
        raise error(f'the output {dst} is the source checkpoint {src}'
                    + (f' (through a link to {osp.realpath(dst)})'
                       if osp.realpath(dst) != osp.abspath(dst) else '')
                    + ': writing it would destroy the source; choose another output')
    directory = osp.dirname(osp.abspath(dst))
    if not osp.isdir(directory):
        if osp.exists(directory):
            raise error(f'cannot write {dst}: {directory} is not a directory')
        try:
            os.makedirs(directory)
        except OSError as exc:
            raise error(f'cannot create the output folder {directory}: {first_line(exc)}') \
                from None
        log(f'created {directory}')
    if not os.access(directory, os.W_OK | os.X_OK):
        raise error(f'cannot write {dst}: the folder {directory} is not writable')
    remove_stale_parts(directory, log)
    return osp.abspath(dst)
