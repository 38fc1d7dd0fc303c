"""Checkpoint handling that knows no model family: reading any checkpoint without running its
code and writing files atomically (:mod:`.io`), what key names tell about a checkpoint's family
(:mod:`.keys`), comparing state dicts and checking weights (:mod:`.diff`), and what lets
MMEngine resume from its own checkpoints under weights-only loading (:mod:`.compat`, applied by
``import mmfish``). It imports no model: the backbones' strict ``Pretrained`` loading is
:mod:`mmfish.core.pretrained`, the families' key maps are theirs (:mod:`mmfish.families`) and
the conversion of released checkpoints is :mod:`mmfish.weights`'."""
from .diff import StateDiff, bad_values, check_values, diff_state
from .io import (
    CheckpointError,
    CheckpointMismatchError,
    ConversionError,
    atomic_path,
    check_destination,
    load_checkpoint,
    load_state_dict,
    save_atomic,
    unwrap_state_dict,
    write_atomic,
    write_text_atomic,
)

__all__ = ['CheckpointError', 'CheckpointMismatchError', 'ConversionError', 'StateDiff',
           'atomic_path', 'bad_values', 'check_destination', 'check_values', 'diff_state',
           'load_checkpoint', 'load_state_dict', 'save_atomic', 'unwrap_state_dict',
           'write_atomic', 'write_text_atomic']
