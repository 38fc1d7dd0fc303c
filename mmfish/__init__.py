"""mmfish: FishNet, Res2Net and ResNeSt backbones for MMPretrain, MMDetection,
MMSegmentation and MMPose, registered in MMEngine's ``MODELS`` under the scope ``mmfish``.

Importing mmfish registers the families and their models, and makes the changes to MMEngine
that :mod:`mmfish.plugin` lists with the reason for each (MMEngine's own checkpoints under
weights-only loading, mmfish's checkpoint reader and downloader, ``mmfish://<name>``, the
report and the partial-load stop of ``load_from`` / ``--resume``).

Outside configs, :func:`create_model` gives a released model as a plain PyTorch module with
its weights: ``mmfish.create_model('resnest50', pretrained=True)``.
"""
from . import families, models, plugin  # noqa: F401
from .registry import MODELS

plugin.apply()

__version__ = '0.1.0'
__all__ = ['MODELS', '__version__', 'create_model']


def __getattr__(name: str):
    """``mmfish.create_model`` (:func:`mmfish.apis.models.create_model`), imported on first
    use: ``import mmfish`` loads no layer above the models."""
    if name == 'create_model':
        from .apis.models import create_model
        return create_model
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
