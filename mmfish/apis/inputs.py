"""What the tools (``tools/infer.py``, ``tools/export.py``) and their APIs are given, checked
before anything is built: the config file, the checkpoint (a file or a name the loaders
resolve) and the device. Each refusal is a ``ValueError`` (``FileNotFoundError`` for a path
that does not exist) whose message says what was given and what is valid."""
import ast
import os
import os.path as osp
import tempfile

from ..checkpoint.io import first_line, not_a_file

#: checkpoint names that the loaders resolve (``mmfish://`` by :mod:`mmfish.hub`)
SCHEMES = ('mmfish://', 'open-mmlab://', 'torchvision://', 'mmcls://', 'http://', 'https://')
#: the suffixes MMEngine reads configs from
CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')
#: what :func:`mmfish.checkpoint.formats.sniff` calls the kinds of checkpoint files
CHECKPOINT_KINDS = ('torch-zip', 'torch-legacy', 'pickle', 'safetensors', 'torchscript')


def check_file(path, what: str, hint: str) -> str:
    """``path`` (``~`` expanded) if it names a regular file (or a link to one); else
    FileNotFoundError (nothing there) or ValueError (a directory, FIFO, ...), each naming
    ``what`` it should have been and ``hint``, what to give instead."""
    path = osp.expanduser(str(path))
    if not osp.exists(path):
        broken = ' (a broken link)' if osp.islink(path) else ''
        raise FileNotFoundError(f'{what} {path}: no such file{broken}; {hint}')
    kind = not_a_file(path)
    if kind:
        raise ValueError(f'{what} {path} is {kind}, not a file; {hint}')
    return path


def _syntax_error(path: str, exc: SyntaxError) -> str:
    """Where the syntax error ``exc`` of the config ``path`` is: the file itself, parsed
    again for its line (MMEngine's error gives none), or a file it inherits (named in
    MMEngine's message)."""
    try:
        with open(path, encoding='utf-8') as f:
            ast.parse(f.read(), filename=path)
    except SyntaxError as own:
        return f'a syntax error in {path}, line {own.lineno}: {own.msg}'
    except (OSError, ValueError):  # unreadable, or not UTF-8
        pass
    return f'a syntax error: {exc.msg}'


def load_config(config):
    """``config`` (a path, or an MMEngine ``Config``) as a ``Config``; its ``custom_imports``
    (mmfish's registry) are imported on loading. A path that is not a config file (missing, a
    folder, a checkpoint given in its place, another suffix) or a config that does not load (a
    syntax error, a missing ``_base_``) raises a ValueError (FileNotFoundError when missing)
    saying so."""
    from mmengine.config import Config
    if isinstance(config, Config):
        return config
    hint = 'give a config file, e.g. one under configs/'
    path = check_file(config, 'config', hint)
    suffix = osp.splitext(path)[1].lower()
    if suffix not in CONFIG_SUFFIXES:
        from ..checkpoint.formats import sniff
        kind = sniff(path)
        what = (f'a checkpoint ({kind}), not a config: the config comes first, then the '
                f'checkpoint' if kind in CHECKPOINT_KINDS else
                f'not a config ({suffix or "no suffix"}; configs are '
                f'{", ".join(CONFIG_SUFFIXES)} files)')
        raise ValueError(f'config {path} is {what}; {hint}')
    try:
        return Config.fromfile(path)
    except SyntaxError as exc:
        raise ValueError(f'config {path} does not load: {_syntax_error(path, exc)}') from None
    except Exception as exc:  # a missing _base_, a bad custom_imports, ...
        raise ValueError(f'config {path} does not load: {type(exc).__name__}: '
                         f'{first_line(exc)}') from None


def resolve_checkpoint(checkpoint) -> str:
    """The file or name that a loader reads: ``mmfish://<name>`` resolved to its converted
    file by :func:`mmfish.hub.resolve` (fetched and converted on first use), the other names of
    :data:`SCHEMES` as they are (MMEngine's loaders read them), else a local file, which must
    be a regular file (FileNotFoundError, or ValueError for a folder, FIFO, ...)."""
    from ..weights.hub import SCHEME, resolve
    checkpoint = str(checkpoint)
    if checkpoint.startswith(SCHEME):
        return resolve(checkpoint)
    if checkpoint.startswith(SCHEMES):
        return checkpoint
    return check_file(checkpoint, 'checkpoint', 'give a checkpoint file or a name starting '
                      f'with one of {", ".join(SCHEMES)}')


def check_device(device) -> str:
    """``device`` if a model can run there: ``cpu``, or ``cuda`` / ``cuda:N`` with that CUDA
    device present (likewise ``mps``); else a ValueError naming the devices available."""
    import torch
    try:
        parsed = torch.device(str(device))
    except (RuntimeError, TypeError, ValueError):
        parsed = None
    available = ['cpu'] + [f'cuda:{i}' for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, 'mps', None) is not None and torch.backends.mps.is_available():
        available.append('mps')
    usable = parsed is not None and (
        parsed.type == 'cpu' and parsed.index in (None, 0)
        or parsed.type == 'cuda' and torch.cuda.is_available()
        and (parsed.index or 0) < torch.cuda.device_count()
        or parsed.type == 'mps' and 'mps' in available)
    if not usable:
        what = 'not a device name' if parsed is None else 'not available here'
        raise ValueError(f'device {device!r} is {what}; available: {", ".join(available)}'
                         + ('' if len(available) > 1 else ' (no CUDA device is visible)'))
    return str(device)


def check_out_dir(out_dir, what: str = 'the output folder') -> str:
    """``out_dir`` (``~`` expanded) if files can be written under it: it is a folder, or it
    can be created (its nearest existing ancestor is a folder), and that folder takes a new
    file (a probe, created and removed at once: permission bits alone do not show a
    read-only file system, nor what root may not write). Nothing is left behind: the
    folders are created by the writing itself. Else a ValueError naming ``what`` (e.g.
    ``--out``), the path and why."""
    out_dir = osp.expanduser(str(out_dir))
    if not out_dir:
        raise ValueError(f'{what} is empty: give a folder for the outputs')
    kind = not_a_file(out_dir)
    if osp.isfile(out_dir) or (kind and kind != 'a directory'):
        raise ValueError(f'{what} {out_dir} is {kind or "a file"}, not a folder: give a '
                         'folder (it is created if missing)')
    existing = osp.abspath(out_dir)
    while not osp.lexists(existing):  # the folder that the missing ones will be created in
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        kind = 'a broken link' if not osp.exists(existing) else not_a_file(existing) or 'a file'
        raise ValueError(f'{what} {out_dir} cannot be created: {existing} is {kind}, not a '
                         'folder')
    try:
        fd, probe = tempfile.mkstemp(prefix='.mmfish-probe-', dir=existing)
    except OSError as exc:
        raise ValueError(f'{what} {out_dir} is not writable: no file can be created in '
                         f'{existing} ({first_line(exc)})') from None
    os.close(fd)
    os.remove(probe)
    return out_dir


__all__ = ['CONFIG_SUFFIXES', 'SCHEMES', 'check_device', 'check_file', 'check_out_dir',
           'load_config', 'resolve_checkpoint']
