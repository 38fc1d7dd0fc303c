"""mmfish: FishNet, Res2Net and ResNeSt backbones for MMDetection, MMSegmentation and
MMPretrain, registered in MMEngine's ``MODELS`` under the scope ``mmfish``."""
__version__ = '0.1.0'

from . import checkpoint_compat  # noqa: E402,F401  (torch>=2.6 weights-only loading)
from .registry import MODELS  # noqa: E402
from . import models  # noqa: E402,F401  (registers the backbones)

__all__ = ['MODELS', '__version__']
