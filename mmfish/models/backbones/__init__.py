"""The backbones of the registered families (:data:`mmfish.core.family.FAMILIES`); the
contract they share is :mod:`mmfish.core.base`."""
from ...core.family import FAMILIES
from ...families import FishNet, FishNeXt, Res2Net, Res2NetDLA, ResNeSt

#: one backbone of each registered family (FishNeXt is a FishNet)
BACKBONES = tuple(f.model for f in FAMILIES.values())

__all__ = ['BACKBONES', 'FishNet', 'FishNeXt', 'Res2Net', 'Res2NetDLA', 'ResNeSt']
