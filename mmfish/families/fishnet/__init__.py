"""FishNet and FishNeXt (:mod:`.model`), FishNet's classifier neck (:mod:`.neck`) and the
conversion of the official releases (:mod:`.conversion`, which registers :data:`FISHNET`)."""
from .conversion import FISHNET
from .model import FishNet, FishNeXt
from .neck import FishScore

__all__ = ['FISHNET', 'FishNet', 'FishNeXt', 'FishScore']
