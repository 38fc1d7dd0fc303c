"""Convert released checkpoints of FishNet, Res2Net and ResNeSt into mmfish checkpoints.

``convert_checkpoint(family, src, dst)`` reads the source in any known layout, detects the
variant from the weights' shapes, checks every key against the model it describes and writes
``{'meta': ..., 'state_dict': ...}`` atomically, with ``backbone.``, ``neck.`` and ``head.``
keys as an mmpretrain ``ImageClassifier`` of the variant's in1k config expects. Nothing is
written when anything does not fit.
"""
from ..checkpoint.io import ConversionError
from . import advice  # noqa: F401  (registers the converters' mismatch advice)
from .convert import convert_checkpoint, detect_family, find_variant, main
from .families import FAMILIES

__all__ = ['ConversionError', 'convert_checkpoint', 'detect_family', 'FAMILIES', 'find_variant',
           'main']
