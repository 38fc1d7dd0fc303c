"""Checkpoint handling: safe reading and atomic writing (:mod:`.io`), state-dict comparison
(:mod:`.diff`)."""
from .diff import StateDiff, bad_values, check_values, diff_state
from .io import (
    CheckpointError,
    CheckpointMismatchError,
    ConversionError,
    check_destination,
    load_checkpoint,
    load_state_dict,
    save_atomic,
    unwrap_state_dict,
    write_atomic,
    write_text_atomic,
)

__all__ = ['CheckpointError', 'CheckpointMismatchError', 'ConversionError', 'StateDiff',
           'bad_values', 'check_destination', 'check_values', 'diff_state', 'load_checkpoint',
           'load_state_dict', 'save_atomic', 'unwrap_state_dict', 'write_atomic',
           'write_text_atomic']
