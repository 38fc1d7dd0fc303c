"""Channels-last helpers: the backbones keep NHWC activations inside and hand NCHW tensors
to necks, heads and checkpoints."""
import torch


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
