"""The models: backbones (:mod:`.backbones`), the layers they share (:mod:`.layers`) and
FishNet's classifier neck (:mod:`.necks`), registered in :data:`mmfish.registry.MODELS`."""
from .backbones import FishNet, FishNeXt, Res2Net, Res2NetDLA, ResNeSt
from .necks import FishScore

__all__ = ['FishNet', 'FishNeXt', 'FishScore', 'Res2Net', 'Res2NetDLA', 'ResNeSt']
