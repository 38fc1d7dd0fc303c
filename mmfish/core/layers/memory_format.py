"""Channels-last helpers: the backbones keep NHWC activations inside and hand NCHW tensors
to necks, heads and checkpoints; :func:`preferred_memory_format` is the layout that
``channels_last='auto'`` (the default) runs in."""
from typing import Dict, Optional, Tuple

import torch

from ..family import FAMILIES


def nchw_faster() -> Dict[Tuple[str, Optional[str], bool], Tuple[str, ...]]:
    """Where the NCHW layout trains or infers faster than channels-last, as measured side by
    side by ``tools/benchmark.py`` (docs/benchmarks.md) and declared by each registered family
    (:attr:`~mmfish.core.family.Family.nchw_faster`): ``(device type, CPU vector ISA,
    training)`` to the backbones (class names, subclasses included) that run NCHW there.
    Everywhere else, channels-last: faster in every other measurement (and cuDNN's
    mixed-precision kernels prefer it), and the layout on ISAs and devices not measured."""
    table = {}
    for family in FAMILIES.values():
        for where in family.nchw_faster:
            table[where] = table.get(where, ()) + (family.name, )
    return table


def __getattr__(name):  # PEP 562: NCHW_FASTER, the table of the families registered now
    if name == 'NCHW_FASTER':
        return nchw_faster()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def cpu_isa() -> str:
    """The vector ISA PyTorch's CPU kernels use here (``torch.backends.cpu``):
    ``'AVX2'``, ``'AVX512'``, ``'DEFAULT'``, ..."""
    return torch.backends.cpu.get_cpu_capability()


def preferred_memory_format(backbone: type, device: Optional[torch.device],
                            training: bool) -> torch.memory_format:
    """The faster layout of ``backbone`` (a class) on ``device`` in train or eval mode, by
    :func:`nchw_faster`: ``torch.contiguous_format`` (NCHW) or ``torch.channels_last``."""
    kind = device.type if device is not None else 'cpu'
    names = nchw_faster().get((kind, cpu_isa() if kind == 'cpu' else None, bool(training)), ())
    if any(cls.__name__ in names for cls in backbone.__mro__):
        return torch.contiguous_format
    return torch.channels_last


def is_channels_last(x) -> bool:
    """Whether a 4-D tensor's channels are its innermost dimension (NHWC in memory)."""
    return x.dim() == 4 and x.stride(1) == 1 and x.shape[2] * x.shape[3] > 1


def sum_channel_groups(x, k: int):
    """Sum each group of ``k`` adjacent channels, (N, k * C, H, W) to (N, C, H, W), keeping
    the memory format of ``x``."""
    if is_channels_last(x):
        return x.permute(0, 2, 3, 1).unflatten(3, (-1, k)).sum(4).permute(0, 3, 1, 2)
    return x.unflatten(1, (-1, k)).sum(2)


class ToContiguous(torch.autograd.Function):
    """A channels-last tensor to the default layout, whose gradient goes back channels-last
    (with a plain ``contiguous()`` the gradients of the whole network would turn NCHW)."""

    @staticmethod
    def forward(ctx, x):
        return x.contiguous()

    @staticmethod
    def backward(ctx, grad):
        return grad.contiguous(memory_format=torch.channels_last)
