"""Deployment: ONNX export checked against PyTorch, of a backbone (:mod:`.export`) and of a
whole model built from a config (:mod:`.build` builds it as the Runner does, :mod:`.wrappers`
are the modules exported, :mod:`.whole` exports and checks them, the command line
:mod:`.cli`); a two-stage detector's whole ``predict`` (:mod:`.detector`; a cascade's:
:mod:`.cascade`), checked against
mmdet's (:mod:`.detections`, which pastes the masks) and run on image files
(:mod:`.onnx_detect`)."""
from .build import TASKS, UnsupportedConfig, build_model, load_model
from .detections import paste_masks
from .export import ONNX_TOLERANCE, NonFiniteOutput, export_onnx, onnx_max_rel_error
from .whole import export_whole

__all__ = ['ONNX_TOLERANCE', 'NonFiniteOutput', 'TASKS', 'UnsupportedConfig', 'build_model',
           'export_onnx', 'export_whole', 'load_model', 'onnx_max_rel_error', 'paste_masks']
