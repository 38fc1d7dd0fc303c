"""Export a backbone to ONNX and check it in onnxruntime against PyTorch; the output is checked
before the export (:func:`mmfish.checkpoint.io.check_destination`) and written atomically
(:func:`mmfish.checkpoint.io.atomic_path`)."""
import os
import tempfile
from typing import Optional, Sequence

import torch
import torch.nn as nn

from ..checkpoint.io import atomic_path, check_destination
from ..testing import max_rel_error

#: largest difference between onnxruntime's and PyTorch's outputs, relative to the largest
#: output magnitude, that :func:`export_onnx` accepts
ONNX_TOLERANCE = 1e-4


def _outputs(model: nn.Module, x: torch.Tensor) -> list:
    out = model(x)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def onnx_max_rel_error(path: str, model: nn.Module, x: torch.Tensor) -> float:
    """Run ``path`` in onnxruntime on ``x``; the largest relative difference of any output
    from the PyTorch model's."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise RuntimeError('onnxruntime is not installed: pip install onnxruntime') from None
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        ref = _outputs(model, x)
    if len(got) != len(ref):
        raise RuntimeError(f'{path} gives {len(got)} outputs, the model {len(ref)}')
    return max_rel_error([torch.from_numpy(g) for g in got], ref)


def export_onnx(model: nn.Module, path: Optional[str] = None, size: Sequence[int] = (224, 224),
                batch: int = 1, dynamo: bool = True, check: bool = True,
                tolerance: float = ONNX_TOLERANCE, verbose: bool = False) -> dict:
    """Export ``model`` (eval mode) for ``batch`` x 3 x ``size`` inputs to ``path`` (a temp
    file when None) with ``torch.onnx.export``; with ``check``, compare onnxruntime's outputs
    with PyTorch's on a random input and raise when they differ by more than ``tolerance``.

    ``path`` (``~`` expanded) must name a regular file or nothing yet; a directory, a device, a
    FIFO, a socket, an empty path, a path ending in a separator or a folder that cannot be
    written raises :class:`~mmfish.checkpoint.io.CheckpointError` (a ValueError) before
    anything is exported.

    Returns ``dict(path=..., outputs=..., max_rel_err=...)`` (``path`` absolute); the file is
    written to a temporary name first and renamed when complete.
    """
    if path is not None:
        path = check_destination(path, example='model.onnx')
    model.eval()
    x = torch.rand(batch, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        names = [f'level{i}' for i in range(len(_outputs(model, x)))]
    if path is None:
        fd, path = tempfile.mkstemp(suffix='.onnx')
        os.close(fd)
    with atomic_path(path) as tmp:
        with torch.no_grad():
            extra = dict(external_data=False) if dynamo else {}  # one self-contained file
            torch.onnx.export(model, (x, ), tmp, input_names=['images'], output_names=names,
                              dynamo=dynamo, verbose=verbose, **extra)
        err = onnx_max_rel_error(tmp, model, x) if check else None
        if err is not None and err > tolerance:
            raise RuntimeError(f'onnxruntime and PyTorch outputs differ by {err:.2e} '
                               f'(> {tolerance:.0e}): the export is not faithful')
    return dict(path=path, outputs=names, max_rel_err=err)
