"""Helpers to compare models numerically, shared by the tests, the benchmark and the ONNX
export check (in the spirit of ``torch.testing``)."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn

Tensors = Union[torch.Tensor, Sequence[torch.Tensor]]


def max_rel_error(ours: Tensors, theirs: Tensors) -> float:
    """The largest absolute difference of each output, relative to the largest magnitude of
    the reference output (``theirs``); the maximum over the outputs. Outputs of other counts
    or shapes raise ValueError. An output holding a NaN or an infinity on either side gives
    ``inf`` (never NaN, which every ``<`` and ``>`` comparison would answer False for): a
    non-finite value is never within a tolerance (:func:`non_finite` says where it is)."""
    ours = [ours] if isinstance(ours, torch.Tensor) else list(ours)
    theirs = [theirs] if isinstance(theirs, torch.Tensor) else list(theirs)
    if len(ours) != len(theirs):
        raise ValueError(f'{len(ours)} outputs against {len(theirs)}')
    errs = []
    for a, b in zip(ours, theirs):
        a, b = torch.as_tensor(a), torch.as_tensor(b)
        if a.shape != b.shape:
            raise ValueError(f'output shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}')
        if not a.numel():
            errs.append(0.0)
            continue
        a, b = a.detach().double(), b.detach().double()
        if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
            errs.append(float('inf'))
            continue
        errs.append(((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item())
    return max(errs)


def non_finite(outputs: Tensors) -> str:
    """How many NaN and infinite values ``outputs`` hold, in words (``'3 NaN, 1 infinite
    in output 0'``), or '' when every value is finite."""
    outputs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
    found = []
    for i, out in enumerate(outputs):
        out = torch.as_tensor(out).detach()
        if not out.is_floating_point() and not out.is_complex():
            continue
        nan, inf = int(out.isnan().sum()), int(out.isinf().sum())
        if nan or inf:
            found.append(', '.join(f'{n} {what}' for n, what in ((nan, 'NaN'), (inf, 'infinite'))
                                   if n) + f' in output {i}')
    return '; '.join(found)


def randomize_norms(model: nn.Module, seed: Optional[int] = None) -> nn.Module:
    """Give every BatchNorm random running statistics and affine parameters (in place), so
    that eval-mode comparisons exercise them: means ~ N(0, 0.1), variances and weights
    ~ U(0.5, 1.5), biases ~ N(0, 0.1), drawn from a generator seeded with ``seed``, or from
    torch's global generator when ``seed`` is None (as ``torch.rand`` draws)."""
    gen = None if seed is None else torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
    return model
