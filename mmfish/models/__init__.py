"""The models as users name them: each family's backbone (:mod:`mmfish.families`) and
FishNet's classifier neck, registered in :data:`mmfish.registry.MODELS`; the translation of a
toolbox's backbone config is :mod:`.toolbox`."""
from ..families import FishNet, FishNeXt, FishScore, Res2Net, Res2NetDLA, ResNeSt

__all__ = ['FishNet', 'FishNeXt', 'FishScore', 'Res2Net', 'Res2NetDLA', 'ResNeSt']
