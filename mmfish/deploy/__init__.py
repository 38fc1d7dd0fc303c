"""Deployment: ONNX export checked against PyTorch, of a backbone (:mod:`.export`) and of a
whole model built from a config (:mod:`.whole`, the command line :mod:`.cli`); a two-stage
detector's whole ``predict`` (:mod:`.detector`), checked against mmdet's
(:mod:`.detections`, which pastes the masks) and run on image files (:mod:`.onnx_detect`)."""
from .detections import paste_masks
from .export import ONNX_TOLERANCE, NonFiniteOutput, export_onnx, onnx_max_rel_error
from .whole import TASKS, UnsupportedConfig, build_model, export_whole, load_model

__all__ = ['ONNX_TOLERANCE', 'NonFiniteOutput', 'TASKS', 'UnsupportedConfig', 'build_model',
           'export_onnx', 'export_whole', 'load_model', 'onnx_max_rel_error', 'paste_masks']
