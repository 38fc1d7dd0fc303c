"""mmfish: FishNet, Res2Net and ResNeSt backbones for MMPretrain, MMDetection,
MMSegmentation and MMPose, registered in MMEngine's ``MODELS`` under the scope ``mmfish``.

Importing mmfish registers the families and their models, and makes the changes to MMEngine
that :mod:`mmfish.plugin` lists with the reason for each (MMEngine's own checkpoints under
weights-only loading, mmfish's checkpoint reader and downloader, ``mmfish://<name>``, the
report and the partial-load stop of ``load_from`` / ``--resume``).
"""
from . import families, models, plugin  # noqa: F401
from .registry import MODELS

plugin.apply()

__version__ = '0.1.0'
__all__ = ['MODELS', '__version__']
