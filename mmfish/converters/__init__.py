"""Convert released checkpoints of the registered families (FishNet, Res2Net, Res2Net-DLA,
ResNeSt) into mmfish checkpoints.

``convert_checkpoint(family, src, dst)`` reads the source in any known layout, detects the
variant from the weights' shapes, checks every key against the model it describes and writes
``{'meta': ..., 'state_dict': ...}`` atomically, with ``backbone.``, ``neck.`` and ``head.``
keys as an mmpretrain ``ImageClassifier`` of the variant's in1k config expects. Nothing is
written when anything does not fit.

Each family is a :class:`~.family.Family` declared and registered (:func:`register_family`)
in its module here; importing the package registers them all.
"""
from ..checkpoint.io import ConversionError
from . import fishnet, res2net, res2net_dla, resnest  # noqa: F401  (each registers its family)
from .cli import main
from .conversion import convert_checkpoint, detect_family, find_variant
from .family import FAMILIES, Family, register_family, unregister_family

__all__ = ['ConversionError', 'convert_checkpoint', 'detect_family', 'FAMILIES', 'Family',
           'find_variant', 'main', 'register_family', 'unregister_family']
