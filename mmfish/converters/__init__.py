"""Convert released checkpoints of the registered families (FishNet, Res2Net, Res2Net-DLA,
ResNeSt) into mmfish checkpoints.

``convert_checkpoint(family, src, dst)`` reads the source in any known layout, detects the
variant from the weights' shapes, checks every key against the model it describes and writes
``{'meta': ..., 'state_dict': ...}`` atomically, with ``backbone.``, ``neck.`` and ``head.``
keys as an mmpretrain ``ImageClassifier`` of the variant's in1k config expects. Nothing is
written when anything does not fit.

Each family is a :class:`~mmfish.core.family.Family` declared and registered
(:func:`register_family`) in its package under :mod:`mmfish.families`, which ``import mmfish``
imports.
"""
from ..checkpoint.io import ConversionError
from ..core.family import FAMILIES, Family, register_family, unregister_family
from .cli import main
from .conversion import convert_checkpoint, detect_family, find_variant

__all__ = ['ConversionError', 'convert_checkpoint', 'detect_family', 'FAMILIES', 'Family',
           'find_variant', 'main', 'register_family', 'unregister_family']
