"""Inference with mmfish models through the toolboxes' own inferencers
(:mod:`mmfish.apis.inference`; ``tools/infer.py`` on the command line), with what they are
given checked first (:mod:`mmfish.apis.inputs`, :mod:`mmfish.apis.images`), and released
models as plain PyTorch modules with their weights (:func:`create_model`,
:mod:`mmfish.apis.models`)."""
from . import images, inference, inputs, models
from .images import *  # noqa: F401,F403  (each module's __all__ is its part of the face)
from .inference import *  # noqa: F401,F403
from .inputs import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403

__all__ = sorted({*images.__all__, *inference.__all__, *inputs.__all__, *models.__all__})
