"""Inference with mmfish models through the toolboxes' own inferencers
(:mod:`mmfish.apis.inference`; ``tools/infer.py`` on the command line), with what they are
given checked first (:mod:`mmfish.apis.inputs`, :mod:`mmfish.apis.images`), and released
models as plain PyTorch modules with their weights (:func:`create_model`,
:mod:`mmfish.apis.models`)."""
from .images import (
    MAX_ASPECT_ENV,
    MAX_ASPECT_RATIO,
    MAX_IMAGE_PIXELS,
    MAX_PIXELS_ENV,
    MIN_IMAGE_SIDE,
    check_image,
)
from .inference import (
    SCHEMES,
    TOOLBOXES,
    CheckedInputs,
    build_inferencer,
    check_fits,
    check_inputs,
    classes_of,
    infer,
    load_config,
    picture_names,
    plan_pictures,
    resolve_checkpoint,
    run,
    scope_of,
    strict_loading,
    summary,
    toolbox_of,
)
from .inputs import check_device, check_file, check_out_dir
from .models import Classifier, FeatureInfo, Features, create_model, model_names

__all__ = ['MAX_ASPECT_ENV', 'MAX_ASPECT_RATIO', 'MAX_IMAGE_PIXELS', 'MAX_PIXELS_ENV',
           'MIN_IMAGE_SIDE', 'SCHEMES', 'TOOLBOXES', 'CheckedInputs', 'Classifier',
           'FeatureInfo', 'Features', 'build_inferencer', 'create_model', 'model_names',
           'check_device', 'check_file', 'check_fits', 'check_image', 'check_inputs',
           'check_out_dir', 'classes_of', 'infer', 'load_config', 'picture_names',
           'plan_pictures', 'resolve_checkpoint', 'run', 'scope_of', 'strict_loading',
           'summary', 'toolbox_of']
