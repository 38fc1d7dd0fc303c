"""Deployment: ONNX export checked against PyTorch (:mod:`.export`)."""
from .export import ONNX_TOLERANCE, export_onnx, onnx_max_rel_error

__all__ = ['ONNX_TOLERANCE', 'export_onnx', 'onnx_max_rel_error']
