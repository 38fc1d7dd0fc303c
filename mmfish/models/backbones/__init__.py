"""Backbones: FishNet and FishNeXt, Res2Net, Res2Net-DLA, ResNeSt; the contract they share is in
:mod:`.base`, their checks in :mod:`.args`."""
from .fishnet import FishNet, FishNeXt
from .res2net import Res2Net
from .res2net_dla import Res2NetDLA
from .resnest import ResNeSt

#: one backbone of each family (FishNeXt is a FishNet)
BACKBONES = (Res2Net, ResNeSt, FishNet, Res2NetDLA)

__all__ = ['BACKBONES', 'FishNet', 'FishNeXt', 'Res2Net', 'Res2NetDLA', 'ResNeSt']
