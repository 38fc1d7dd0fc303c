"""Tooling of a source checkout: what ``tools/``, the tests and ``make demo`` use, kept apart
from the library (which never imports it).

- :mod:`.tiny_data`: tiny synthetic datasets in the toolboxes' real on-disk formats;
- :mod:`.tiny_twins`, :mod:`.mim_runs`, :mod:`.resume_check`: running ``mim`` on the tiny twins
  (the demo, the end-to-end, resume and distributed tests);
- :mod:`.docs`, :mod:`.model_table`, :mod:`.inventory`: tables generated into the docs;
- :mod:`.check_env`: the stack check at the end of ``make install`` (what mmcv was built
  with, against the machine's GPU);
- :mod:`.cuda_setup`: ``make install``'s choice of mmcv build (CPU only, or its CUDA ops from
  PyPI's CUDA compiler) and the CUDA build;
- :mod:`.benchmark`: the side-by-side benchmark and the GPU check.

Whatever reads ``configs/`` or writes ``docs/`` takes the checkout's root as an argument
(:func:`checkout_root`): the scripts in ``tools/`` pass their own checkout, the tests theirs.

It is not installed with mmfish (the wheel holds ``mmfish`` only): it imports from the
checkout's root, which the scripts in ``tools/`` put first on ``sys.path``, pytest has there
(``tests/`` is a package) and ``python -m mmfish_tools...`` has when run from the root. A
Python subprocess that imports it gets :func:`python_env`.
"""
import importlib
import os
from pathlib import Path
from typing import Dict, Mapping, Optional, Union

#: the folder that holds this package: the root of the source checkout
ROOT = Path(__file__).resolve().parents[1]


def python_env(env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """``env`` (default: this process's environment) with the checkout's root first on
    ``PYTHONPATH``: a Python subprocess started with it imports ``mmfish_tools`` whatever its
    working directory."""
    env = dict(os.environ if env is None else env)
    paths = [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + paths)
    return env


def checkout_root(root: Optional[Union[str, Path]] = None) -> Path:
    """``root``, or the current directory: a source checkout of mmfish (it must hold
    ``configs/``)."""
    path = Path(root) if root is not None else Path.cwd()
    if not (path / 'configs').is_dir():
        raise FileNotFoundError(f'{path.resolve()} is not a source checkout of mmfish (no '
                                f'configs/ folder): run from the checkout, or pass its root')
    return path.resolve()


def build_in_scope(scope: str, cfg: dict):
    """Build ``cfg`` with the MODELS registry of toolbox ``scope`` (``mmdet``, ``mmseg``,
    ``mmpretrain``, ``mmpose``) as the default scope, as the toolbox's own tools do (so that
    e.g. a classifier's data preprocessor resolves), whatever scope a Runner created earlier
    left as the default."""
    from mmengine.registry import DefaultScope
    importlib.import_module(f'{scope}.models')
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)
