"""Backbones: FishNet and FishNeXt, Res2Net, Res2Net-DLA, ResNeSt; the contract they share is in
:mod:`.base`, their argument checks in :mod:`.args`."""
from .fishnet import FishNet, FishNeXt
from .res2net import Res2Net
from .res2net_dla import Res2NetDLA
from .resnest import ResNeSt

__all__ = ['FishNet', 'FishNeXt', 'Res2Net', 'Res2NetDLA', 'ResNeSt']
