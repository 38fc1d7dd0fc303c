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
import stat
import threading
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from typing import Callable, Dict, Optional, Tuple

import torch

from .formats import FORMATS, SizeError, check_declared_sizes, read_safetensors, sniff
from .paddle import describe_unreadable_pdparams, read_pdparams


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


#: the environment variable naming files whose pickles the user trusts to run (see
#: :func:`trusted_checkpoints`)
TRUST_ENV = 'MMFISH_TRUSTED_CHECKPOINTS'
#: what mmfish reads, for messages about files it does not
_READS = 'mmfish reads PyTorch checkpoints (torch.save), safetensors and PaddlePaddle .pdparams'
#: what to do about each kind of file that is not a checkpoint (see formats.FORMATS)
_NOT_A_CHECKPOINT = {
    'tar': "either PyTorch's oldest checkpoint format (torch.save before PyTorch 0.4), which "
           'cannot be read without running its pickles, or an archive of files to unpack '
           '(tar -xf)',
    'gzip': 'decompress it first (gunzip -k FILE) and give the file inside',
    'json': 'a configuration or a model index, not weights',
    'hdf5': _READS,
    'npy': _READS,
    'npz': _READS,
    'torchscript': 'a compiled model (torch.jit.load reads it); give the state dict saved with '
                   'torch.save(model.state_dict(), PATH)',
    'zip': 'unpack it, or give the checkpoint itself',
    'unknown': _READS,
}


def trusted_checkpoints() -> set:
    """The real paths of the files named in ``$MMFISH_TRUSTED_CHECKPOINTS`` (separated by
    ``os.pathsep``): the only files whose pickles mmfish lets run (``weights_only=False``),
    for old checkpoints that weights-only loading cannot read. Name a file there only if you
    trust its source: its pickle can run any code."""
    names = os.environ.get(TRUST_ENV, '')
    return {osp.realpath(osp.expanduser(n)) for n in names.split(os.pathsep) if n.strip()}


def _trust_hint(path: str) -> str:
    return (f'if you trust its source, name it in {TRUST_ENV}={path} to load it with full '
            f'unpickling (which runs any code it holds)')


def _weights_only_reason(exc: BaseException) -> str:
    """What torch's weights-only unpickler refused, without its advice to turn it off."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if 'WeightsUnpickler error:' in line:
            reason = line.split('WeightsUnpickler error:', 1)[1].strip() or \
                (lines[i + 1] if i + 1 < len(lines) else '')
            return reason.split(' Please use `torch.serialization')[0]
    return first_line(exc)


def describe_unreadable(path: str, exc: BaseException, kind: Optional[str] = None) -> str:
    """Why ``path`` (of the format ``kind``, see :func:`~.formats.sniff`) could not be loaded,
    for an error message that names the file."""
    size = osp.getsize(path) if osp.isfile(path) else None
    if size == 0:
        return f'{path} is empty (0 bytes): the download or the save that made it did not finish'
    if 'weights only' in str(exc).lower() or 'unsupported global' in str(exc).lower() or \
            'getattr(' in str(exc) or 'weights-only loading refuses' in str(exc):
        reason = _weights_only_reason(exc)
        return (f'{path} holds objects that weights-only loading refuses, so nothing in it was '
                f'run: it is not a plain checkpoint of weights ({reason[:300]}); '
                + _trust_hint(path))
    what = f' in {FORMATS[kind]}' if kind else ''
    return (f'{path} could not be read as a PyTorch checkpoint (is it truncated or corrupt, or '
            f'not a checkpoint?): '
            f'{size} bytes{what}; {first_line(exc)[:300]}')


def _check_readable_file(path: str, error: type) -> None:
    if not osp.exists(path):
        raise error(f'{path}: no such file' + (' (a broken link)' if osp.islink(path) else ''))
    kind = not_a_file(path)
    if kind == 'a directory':
        raise error(f'{path} is a directory, not a checkpoint file: give the file, e.g. '
                    f'{osp.join(path, "epoch_12.pth")} (a work_dir names its latest checkpoint '
                    f'in last_checkpoint)')
    if kind:
        raise error(f'{path} is {kind}, not a regular file: nothing was read from it; give a '
                    f'checkpoint file')


def load_checkpoint(path: str, error: type = CheckpointError, map_location='cpu'):
    """Read the checkpoint ``path`` without running anything in it.

    The format is told from the first bytes (:func:`~.formats.sniff`): PyTorch's zip and
    legacy formats are read with ``torch.load(weights_only=True)`` once the sizes their
    pickles declare fit the file and the limit (:func:`~.formats.check_declared_sizes`);
    PaddlePaddle's bare pickles with :func:`~.paddle.read_pdparams` (numpy arrays only);
    safetensors with :func:`~.formats.read_safetensors`. Files of other kinds, and every
    failure, raise ``error`` naming the file, what it is and what to do. Only a file named in
    ``$MMFISH_TRUSTED_CHECKPOINTS`` (:func:`trusted_checkpoints`) is unpickled in full.
    """
    path = osp.expanduser(str(path))
    _check_readable_file(path, error)
    kind = sniff(path)
    if kind == 'empty':
        raise error(describe_unreadable(path, EOFError()))
    if osp.realpath(path) in trusted_checkpoints() and kind in ('torch-zip', 'torch-legacy',
                                                                'tar'):
        warnings.warn(f'{path}: unpickled in full, running any code it holds ({TRUST_ENV} '
                      f'names it)', stacklevel=2)
        return torch.load(path, map_location=map_location, weights_only=False)
    if kind == 'pickle':  # a bare pickle, not torch's format: Paddle's .pdparams
        try:
            return read_pdparams(path)
        except Exception as exc:
            raise error(describe_unreadable_pdparams(path, exc)) from None
    if kind == 'safetensors':
        try:
            return read_safetensors(path)
        except (ValueError, OSError) as exc:
            raise error(str(exc)) from None
    if kind not in ('torch-zip', 'torch-legacy'):
        hint = _NOT_A_CHECKPOINT[kind] + ('; ' + _trust_hint(path) if kind == 'tar' else '')
        raise error(f'{path} is {FORMATS[kind]}, not a checkpoint of weights: {hint}')
    try:
        check_declared_sizes(path, kind)
    except SizeError as exc:
        raise error(str(exc)) from None
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise error(describe_unreadable(path, exc, kind)) from None


#: the counter beside the ``module.*`` weights of ``torch.optim.swa_utils.AveragedModel``
SWA_COUNTER = 'n_averaged'


def unwrap_state_dict(ckpt, path: str, error: type = ConversionError
                      ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The flat state dict inside a loaded checkpoint, and the rest of the checkpoint.

    Accepts plain state dicts, ``{'state_dict': ...}`` (MMEngine, the official FishNet
    training checkpoints), ``{'model': ...}`` and ``{'state_dict_ema': ...}`` wrappers, and
    strips the ``module.`` prefix that DataParallel and ``torch.optim.swa_utils.AveragedModel``
    add (the latter's ``n_averaged`` counter goes to the rest). Keys that are not strings, and a
    ``module.`` prefix on some keys but not all (two models' keys in one file), raise
    ``error``.
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
    odd = [k for k in state if not isinstance(k, str)]
    if odd:
        raise error(f'{path}: {len(odd)} of its {len(state)} keys are not strings: '
                    + ', '.join(f'{k!r} ({type(k).__name__})' for k in odd[:5])
                    + "; a state dict's keys are parameter names such as 'conv1.weight'")
    wrapped = [k for k in state if k.startswith('module.')]
    if wrapped and set(state) - set(wrapped) == {SWA_COUNTER}:  # torch's AveragedModel
        rest[SWA_COUNTER] = state.pop(SWA_COUNTER)
    if wrapped and len(wrapped) < len(state):
        plain = [k for k in state if not k.startswith('module.')]
        raise error(f"{path}: {len(wrapped)} of its {len(state)} keys start with 'module.' "
                    f"(DataParallel's prefix) and the others do not (e.g. {wrapped[0]!r} and "
                    f"{plain[0]!r}): the file mixes two models' keys; save one model's state "
                    f"dict, all keys with the prefix or none")
    if wrapped:
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
    """The temporary file that :func:`write_atomic` writes before renaming it to ``path``
    (``~`` expanded)."""
    directory, name = osp.split(osp.abspath(osp.expanduser(str(path))))
    return osp.join(directory, f'.{name}.{os.getpid() if pid is None else pid}.part')


#: what an existing path that is not a regular file is, for messages
_NOT_FILES = ((stat.S_ISDIR, 'a directory'), (stat.S_ISCHR, 'a character device'),
              (stat.S_ISBLK, 'a block device'), (stat.S_ISFIFO, 'a FIFO (named pipe)'),
              (stat.S_ISSOCK, 'a socket'))
_SEPARATORS = tuple(s for s in (os.sep, os.altsep) if s)


def not_a_file(path: str) -> Optional[str]:
    """What ``path`` is (``'a directory'``, ``'a FIFO (named pipe)'``, ...) when it exists and
    is not a regular file, following symlinks; None for a regular file or nothing at all."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return next((what for is_kind, what in _NOT_FILES if is_kind(mode)), 'a special file')


def file_to_write(dst: str, error: type = CheckpointError,
                  example: str = 'model_mmfish.pth') -> str:
    """The absolute path of ``dst`` (``~`` expanded) once it is known to name a regular file
    (or a link to one) or nothing yet. An empty path, a path ending in a separator (a folder),
    a directory, a device, a FIFO or a socket raises ``error``; ``example`` is the file name
    suggested for a folder."""
    dst = str(dst)
    if not dst:
        raise error('the output path is empty: give the path of a file to create or replace')
    dst = osp.expanduser(dst)
    what = not_a_file(dst)
    if what == 'a directory':
        raise error(f'the output {dst} is a directory: give a file name, e.g. '
                    f'{osp.join(dst, example)}')
    if dst.endswith(_SEPARATORS):
        raise error(f'the output {dst} names a folder (trailing slash): give a file name, '
                    f'e.g. {osp.join(dst, example)}')
    if what is not None:
        raise error(f'the output {dst} is {what}{_through_link(dst)}, not a regular file: give '
                    f'the path of a file to create or replace')
    return osp.abspath(dst)


def _through_link(path: str) -> str:
    """`` (through a link to REAL)`` where ``path`` leads through a symbolic link, else ''."""
    real = osp.realpath(path)
    return f' (through a link to {real})' if real != osp.abspath(path) else ''


def _probe_folder(dst: str, error: type) -> None:
    """Create and remove the temporary file that writing ``dst`` uses, so that a folder the
    process cannot write (permissions, a read-only file system) is refused before any work."""
    tmp = part_path(dst)
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # this process is writing dst: the folder is writable
        return
    except OSError as exc:
        raise error(f'cannot write {dst}: the folder {osp.dirname(tmp)} is not writable '
                    f'({first_line(exc)})') from None
    _remove(tmp)


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
def atomic_path(path: str, error: type = CheckpointError):
    """A temporary path to write ``path``'s new content to; when the block ends normally the
    file is flushed to disk, given the umask's mode and renamed to ``path``.

    ``path`` (``~`` expanded) must name a regular file or nothing yet: anything else (see
    :func:`file_to_write`) raises ``error`` before the block runs, and instead of the rename
    when a directory, device, FIFO or socket appeared there meanwhile. On any error or
    interruption the temporary file is removed and ``path`` is untouched; the exception (or the
    signal) is passed on.
    """
    path = file_to_write(path, error)
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = part_path(path)
    try:
        with _signals_raise():
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())
            file_to_write(path, error)
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


def _sources(src) -> list:
    """``(what, path)`` for each input that :func:`check_destination` protects: ``src`` is a
    path (the source checkpoint), a mapping of what each input is to its path (``{'config':
    ..., 'checkpoint': ...}``) or any iterable of paths (each an input); None entries are
    left out."""
    if src is None:
        return []
    if isinstance(src, (str, bytes, os.PathLike)):
        return [('source checkpoint', src)]
    items = src.items() if hasattr(src, 'items') else (('input', s) for s in src)
    return [(what, s) for what, s in items if s is not None]


def _same_file(a: str, b: str) -> bool:
    """Whether paths ``a`` and ``b`` name one file: the same real path (links followed), or,
    when both exist, the same file by :func:`os.path.samefile` (hard links)."""
    a, b = osp.expanduser(os.fsdecode(a)), osp.expanduser(os.fsdecode(b))
    if osp.realpath(a) == osp.realpath(b):
        return True
    try:
        return osp.exists(a) and osp.exists(b) and osp.samefile(a, b)
    except OSError:
        return False


def check_destination(dst: str, src=None, error: type = CheckpointError,
                      log: Callable[[str], None] = print,
                      example: str = 'model_mmfish.pth') -> str:
    """Make sure ``dst`` can be written before any work starts; return its absolute path
    (``~`` expanded).

    ``dst`` must name a regular file (or a link to one) or nothing yet: an empty path, a path
    ending in a separator, a directory, a device, a FIFO or a socket is refused
    (:func:`file_to_write`; ``example`` is the file name suggested for a folder), and so is
    any of the inputs ``src``: one path (the source checkpoint), an iterable of paths, or a
    mapping of what each input is to its path (``{'config': ..., 'checkpoint': ...}``; None
    entries are skipped). An input counts as the output when their real paths are equal or
    :func:`os.path.samefile` says so (a symlink or hard link to an input counts as the input).
    Its folder is created when missing, and must let the temporary file of the write be
    created (it is removed at once). Temporary files left there by killed writes are removed.
    Every refusal raises ``error``.
    """
    dst = file_to_write(dst, error, example)
    for what, source in _sources(src):
        if _same_file(source, dst):
            raise error(f'the output {dst} is the {what} {os.fsdecode(source)}'
                        f'{_through_link(dst)}: writing it would destroy the {what}; choose '
                        f'another output')
    directory = osp.dirname(dst)
    if not osp.isdir(directory):
        if osp.exists(directory):
            raise error(f'cannot write {dst}: {directory} is not a directory')
        try:
            os.makedirs(directory)
        except OSError as exc:
            raise error(f'cannot create the output folder {directory}: {first_line(exc)}') \
                from None
        log(f'created {directory}')
    _probe_folder(dst, error)
    remove_stale_parts(directory, log)
    return dst
