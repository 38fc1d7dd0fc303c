"""ResNeSt (:mod:`.model`) and the conversion of its released layouts (:mod:`.conversion`,
which registers :data:`RESNEST`)."""
from .conversion import RESNEST
from .model import ResNeSt

__all__ = ['RESNEST', 'ResNeSt']
