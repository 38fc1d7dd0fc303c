"""Export a backbone to ONNX and check it in onnxruntime against PyTorch; the output is checked
before the export (:func:`mmfish.checkpoint.io.check_destination`) and written atomically
(:func:`mmfish.checkpoint.io.atomic_path`)."""
import os
import tempfile
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..checkpoint.io import atomic_path, check_destination
from ..testing import max_rel_error, non_finite

#: largest difference between onnxruntime's and PyTorch's outputs, relative to the largest
#: output magnitude, that :func:`export_onnx` accepts
ONNX_TOLERANCE = 1e-4


#: the input sizes and batches the exports accept: each side from :data:`MIN_SIDE` (the
#: backbones downsample by 32) to :data:`MAX_SIDE` pixels, a batch from 1 to :data:`MAX_BATCH`,
#: and at most :data:`MAX_PIXELS` pixels in a batch (batch x height x width; its float32 input
#: is then at most 192 MiB, and the memory of tracing, exporting and checking grows with it)
MIN_SIDE, MAX_SIDE, MAX_BATCH, MAX_PIXELS = 32, 4096, 256, 4096 * 4096


def _is_int(value) -> bool:
    import numbers
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def valid_input_range() -> str:
    """The accepted sizes and batches, in words (for messages and ``--help``)."""
    return (f'height and width {MIN_SIDE} to {MAX_SIDE} pixels, batch 1 to {MAX_BATCH}, and '
            f'batch x height x width at most {MAX_PIXELS:,} pixels')


def check_input_size(size, batch=1, name: str = 'size') -> Tuple[Tuple[int, int], int]:
    """``(size, batch)`` as ``((height, width), batch)`` of ints once they are within
    :func:`valid_input_range`; else a ValueError naming the valid range. ``size`` must be two
    integers (a float, a bool or another count is refused)."""
    try:
        values = tuple(size)
    except TypeError:
        values = None
    if values is None or len(values) != 2 or not all(_is_int(v) for v in values):
        raise ValueError(f'{name} {size!r}: give two integers (height, width); valid: '
                         f'{valid_input_range()}')
    h, w = int(values[0]), int(values[1])
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise ValueError(f'{name} {h} x {w} is out of range; valid: {valid_input_range()}')
    if not _is_int(batch) or not 1 <= batch <= MAX_BATCH:
        raise ValueError(f'batch {batch!r}: give an integer from 1 to {MAX_BATCH}; valid: '
                         f'{valid_input_range()}')
    if int(batch) * h * w > MAX_PIXELS:
        raise ValueError(f'batch {batch} of {h} x {w} images is {int(batch) * h * w:,} pixels, '
                         f'more than {MAX_PIXELS:,}; valid: {valid_input_range()}')
    return (h, w), int(batch)


def _outputs(model: nn.Module, x: torch.Tensor) -> list:
    out = model(x)
    return list(out) if isinstance(out, (tuple, list)) else [out]


class NonFiniteOutput(RuntimeError):
    """An output of the exported graph or of the PyTorch model holds a NaN or an infinity:
    no check can compare it, so the export is refused."""


def check_finite(outputs, names: Sequence[str], who: str, x: torch.Tensor) -> None:
    """Raise :class:`NonFiniteOutput` when any of ``outputs`` (named ``names``) holds a NaN
    or an infinity, saying which output of ``who`` and on which input."""
    for name, out in zip(names, outputs):
        what = non_finite(torch.as_tensor(out))
        if what:
            source = ('the input itself holds ' + non_finite(x).replace(' in output 0', '')
                      if non_finite(x) else 'the weights hold non-finite values, or the '
                      'model overflows on this input')
            raise NonFiniteOutput(
                f'{who}\'s output {name!r} holds {what.replace(" in output 0", "")} on the '
                f'input of shape {tuple(x.shape)} ({source}): a non-finite output cannot be '
                f'checked, so the export is refused')


def onnx_max_rel_error(path: str, model: nn.Module, x: torch.Tensor) -> float:
    """Run ``path`` in onnxruntime on ``x``; the largest relative difference of any output
    from the PyTorch model's. A NaN or an infinity in either's outputs raises
    :class:`NonFiniteOutput` (a RuntimeError) naming the output."""
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
    names = [o.name for o in session.get_outputs()]
    check_finite(ref, names, 'PyTorch', x)
    check_finite(got, names, 'onnxruntime', x)
    return max_rel_error([torch.from_numpy(g) for g in got], ref)


def check_tolerance(tolerance) -> float:
    """``tolerance`` as a float if it is a finite number above 0, else a ValueError."""
    import math
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or \
            not math.isfinite(tolerance) or tolerance <= 0:
        raise ValueError(f'tolerance {tolerance!r}: give a finite number above 0 (default '
                         f'{ONNX_TOLERANCE:.0e})')
    return float(tolerance)


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

    ``size`` and ``batch`` must be within :func:`valid_input_range` (else ValueError). With
    ``check``, a NaN or an infinity in PyTorch's outputs (checked before the export) or in
    onnxruntime's raises :class:`NonFiniteOutput`.

    Returns ``dict(path=..., outputs=..., max_rel_err=...)`` (``path`` absolute); the file is
    written to a temporary name first and renamed when complete.
    """
    tolerance = check_tolerance(tolerance)
    size, batch = check_input_size(size, batch)
    if path is not None:
        path = check_destination(path, example='model.onnx')
    model.eval()
    x = torch.rand(batch, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = _outputs(model, x)
    names = [f'level{i}' for i in range(len(reference))]
    if check:  # a model that gives NaN or infinities is refused before the export
        check_finite(reference, names, 'PyTorch', x)
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
