"""Res2Net (:mod:`.model`) and the conversion of its released layouts (:mod:`.conversion`,
which registers :data:`RES2NET`)."""
from .conversion import RES2NET
from .model import Res2Net

__all__ = ['RES2NET', 'Res2Net']
