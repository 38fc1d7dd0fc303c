"""What ``import mmfish`` changes in the MMEngine of the process that imports it, in one place.

Each change is made by a function of the module that owns it, listed in :data:`CHANGES` with
the reason for it, and :func:`apply` (run by ``import mmfish``, which a config's
``custom_imports`` does) makes them all; each can be made again and changes nothing then:

1. torch's weights-only allowlist gains what MMEngine's own training checkpoints hold, numpy's
   types through checked stand-ins (:func:`mmfish.checkpoint.compat.allow_mmengine_checkpoints`);
2. MMEngine's ``CheckpointLoader`` reads local files and ``http(s)://`` (so ``open-mmlab://``,
   ``torchvision://``, ``mmcls://`` too) with mmfish's reader and downloader
   (:func:`mmfish.checkpoint.compat.name_unreadable_checkpoints`);
3. ``mmfish://<name>`` becomes one of ``CheckpointLoader``'s schemes
   (:func:`mmfish.weights.hub.register_scheme`);
4. ``Runner.load_checkpoint`` and ``Runner.resume`` end with a report of what was loaded and
   stop on a partial backbone (:func:`mmfish.weights.load_report.install`).

The models, necks, hooks and the CPU SyncBN are registered in mmfish's own child registries
(:mod:`mmfish.registry`), which change nothing of MMEngine's.
"""
from typing import Callable, Tuple

from .checkpoint import compat
from .weights import hub, load_report

#: ``(change, why)``: what :func:`apply` changes, in order
CHANGES: Tuple[Tuple[Callable[[], None], str], ...] = (
    (compat.allow_mmengine_checkpoints,
     "MMEngine 0.10.7 calls torch.load without weights_only, so under torch >= 2.6's "
     'weights-only default --resume fails on the HistoryBuffer and numpy values its own '
     'checkpoints hold'),
    (compat.name_unreadable_checkpoints,
     "MMEngine's loaders unpickle whatever a file holds and fail with bare errors: mmfish's read "
     'weights only, check declared sizes first, read safetensors, name what a file really is, '
     'and fetch URLs into a verified cache'),
    (hub.register_scheme,
     "released and trained weights in one line of a config: load_from = 'mmfish://resnest50'"),
    (load_report.install,
     'MMEngine loads load_from / --resume non-strictly and trains on from random weights: the '
     'load report says what was loaded and stops a run whose backbone was loaded in part'),
)


def apply() -> None:
    """Make every change of :data:`CHANGES`."""
    for change, _ in CHANGES:
        change()


__all__ = ['CHANGES', 'apply']
