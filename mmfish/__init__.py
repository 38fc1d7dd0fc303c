"""mmfish: FishNet, Res2Net and ResNeSt backbones for MMPretrain, MMDetection,
MMSegmentation and MMPose, registered in MMEngine's ``MODELS`` under the scope ``mmfish``.

Importing mmfish registers the models, lets MMEngine load its own checkpoints on
torch >= 2.6 (see :mod:`mmfish.checkpoint.compat`), makes ``load_from`` / ``--resume`` report
what they loaded (see :mod:`mmfish.engine.load_report`) and lets configs name released weights
as ``mmfish://<variant>`` (see :mod:`mmfish.hub`).
"""
from . import families, hub, models  # noqa: F401
from .checkpoint import compat  # noqa: F401
from .engine import load_report  # noqa: F401
from .registry import MODELS

__version__ = '0.1.0'
__all__ = ['MODELS', '__version__']
