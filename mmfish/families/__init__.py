"""The backbone families, one package each: its model, the conversion rules of its released
layouts and its :class:`~mmfish.core.family.Family`, registered when the package is imported
(:data:`mmfish.core.family.FAMILIES`, in the order imported here). The generic code (the
converters, the toolbox translation, the memory-format policy, the model index) finds the
families through that registry."""
# isort: off
from . import res2net, resnest, fishnet, res2net_dla  # noqa: F401  (each registers its family)
# isort: on
from .fishnet import FishNet, FishNeXt, FishScore
from .res2net import Res2Net
from .res2net_dla import Res2NetDLA
from .resnest import ResNeSt

__all__ = ['FishNet', 'FishNeXt', 'FishScore', 'Res2Net', 'Res2NetDLA', 'ResNeSt']
