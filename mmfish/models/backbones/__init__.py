from .fishnet import FishNet, FishNeXt, FishScore
from .res2net import Res2Net
from .resnest import ResNeSt

__all__ = ['FishNet', 'FishNeXt', 'FishScore', 'Res2Net', 'ResNeSt']
