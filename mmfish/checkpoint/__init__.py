"""Checkpoint handling that knows no model family: reading any checkpoint without running its
code and writing files atomically (:mod:`.io`), what key names tell about a checkpoint's family
(:mod:`.keys`), comparing state dicts and checking weights (:mod:`.diff`), the backbones'
strict ``Pretrained`` loading (:mod:`.pretrained`), and what lets MMEngine resume from its own
checkpoints under weights-only loading (:mod:`.compat`, applied by ``import mmfish``). The
family key maps and the conversion of released checkpoints are :mod:`mmfish.converters`'."""
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
from .pretrained import check_state_dict, pretrained_state, read_checkpoint

__all__ = ['CheckpointError', 'CheckpointMismatchError', 'ConversionError', 'StateDiff',
           'atomic_path', 'bad_values', 'check_destination', 'check_state_dict', 'check_values',
           'diff_state', 'load_checkpoint', 'load_state_dict', 'pretrained_state',
           'read_checkpoint', 'save_atomic', 'unwrap_state_dict', 'write_atomic',
           'write_text_atomic']
