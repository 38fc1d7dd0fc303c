"""Inference with mmfish models through the toolboxes' own inferencers
(:mod:`mmfish.apis.inference`; ``tools/infer.py`` on the command line)."""
from .inference import (
    SCHEMES,
    TOOLBOXES,
    build_inferencer,
    check_image,
    classes_of,
    infer,
    load_config,
    resolve_checkpoint,
    scope_of,
    summary,
    toolbox_of,
)

__all__ = ['SCHEMES', 'TOOLBOXES', 'build_inferencer', 'check_image', 'classes_of', 'infer',
           'load_config', 'resolve_checkpoint', 'scope_of', 'summary', 'toolbox_of']
