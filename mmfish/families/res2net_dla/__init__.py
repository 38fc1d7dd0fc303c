"""Res2Net-DLA (:mod:`.model`, Res2Net's blocks in a DLA tree) and the conversion of the
official releases (:mod:`.conversion`, which registers :data:`RES2NET_DLA`)."""
from .conversion import RES2NET_DLA
from .model import Res2NetDLA

__all__ = ['RES2NET_DLA', 'Res2NetDLA']
