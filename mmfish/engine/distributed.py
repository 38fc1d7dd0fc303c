"""Distributed training on CPUs (``gloo``), where MMEngine 0.10.7 and torch need help.

- :class:`SyncBatchNorm` (``norm_cfg=dict(type='mmfish.SyncBN')``): torch 2.13's
  ``nn.SyncBatchNorm`` raises ``ValueError: SyncBatchNorm expected input tensor to be on GPU
  or XPU or privateuseone`` for CPU tensors in a distributed training step, and mmcv 2.1's
  ``MMSyncBN`` has CUDA kernels only (``sync_bn_forward_mean`` has no CPU implementation). This
  layer computes the batch statistics of CPU tensors over all ranks with
  differentiable all-reduces (which work with ``gloo``); on GPUs it runs torch's layer, and
  in evaluation or in one process it is a plain BatchNorm.
- :class:`RankAverageLogHook`: MMEngine logs the losses of rank 0 only (its batch share); the
  hook averages the logged training outputs over the ranks first, so that the log shows the
  loss of the whole distributed batch (exactly so when the loss is a mean over equally many
  samples per rank, as for classification).
"""
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.dist import all_reduce, get_world_size, is_distributed
from mmengine.hooks import Hook
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..registry import HOOKS, MODELS


class _AllReduceSum(torch.autograd.Function):
    """Sum over the ranks of ``group``; the gradient is summed over the ranks as well, since
    every rank's loss depends on every rank's input through the shared statistics."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        tensor = tensor.clone()
        dist.all_reduce(tensor, group=group)
        return tensor

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


@MODELS.register_module('SyncBN')
class SyncBatchNorm(_BatchNorm):
    """Synchronised BatchNorm that also works on CPU tensors (see the module documentation):
    the arguments, parameters, buffers and GPU behaviour of ``torch.nn.SyncBatchNorm``.

    It is not a subclass of torch's layer, because DistributedDataParallel refuses any such
    subclass in a CPU module (``ValueError: SyncBatchNorm layers only work with GPU
    modules``); on GPUs it runs torch's ``SyncBatchNorm.forward``.

    On CPU it computes, in float64 like PyTorch's CPU BatchNorm: the sum and the count over all
    ranks (one all-reduce), the mean, then the sum of squared deviations over all ranks (a
    second all-reduce; two passes, as accurate as the single-process kernel), and normalises
    with the biased variance; the running variance gets the unbiased one, as torch's does.
    Without distribution (or in evaluation) it is a plain BatchNorm.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 **kwargs):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, **kwargs)
        self.process_group = process_group

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f'expected at least 2D input (got {input.dim()}D input)')

    def _check_non_zero_input_channels(self, input: torch.Tensor) -> None:
        if input.size(1) == 0:
            raise ValueError('SyncBatchNorm number of input channels should be non-zero')

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.device.type != 'cpu':
            return nn.SyncBatchNorm.forward(self, input)  # torch's, on GPUs
        group = self._cpu_sync_group(input)
        if group is None:
            return super().forward(input)  # plain BatchNorm
        self._check_input_dim(input)
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                      else self.momentum)
        channels = input.shape[1]
        dims = [0, *range(2, input.dim())]
        shape = [1, channels] + [1] * (input.dim() - 2)

        local = torch.cat([input.sum(dims, dtype=torch.float64),
                           input.new_full((1, ), input.numel() // channels,
                                          dtype=torch.float64)])
        total = _AllReduceSum.apply(local, group)
        count = total[-1]
        mean = total[:channels] / count
        centred = input - mean.to(input.dtype).view(shape)
        squares = _AllReduceSum.apply(centred.pow(2).sum(dims, dtype=torch.float64), group)
        var = squares / count

        if self.track_running_stats:
            with torch.no_grad():
                unbiased = var * (count / (count - 1).clamp(min=1))
                self.running_mean.mul_(1 - factor).add_(mean.to(self.running_mean.dtype),
                                                        alpha=factor)
                self.running_var.mul_(1 - factor).add_(unbiased.to(self.running_var.dtype),
                                                       alpha=factor)
        invstd = torch.rsqrt(var + self.eps).to(input.dtype)
        out = centred * invstd.view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out

    def _cpu_sync_group(self, input: torch.Tensor) -> Optional[object]:
        """The process group to synchronise a CPU training batch over, None for a plain
        BatchNorm (not training, not distributed, one rank)."""
        if not self.training or not (dist.is_available() and dist.is_initialized()):
            return None
        group = self.process_group or dist.group.WORLD
        return group if dist.get_world_size(group) > 1 else None


@HOOKS.register_module()
class RankAverageLogHook(Hook):
    """Average the logged training outputs (losses, accuracies) over all ranks.

    ``custom_hooks = [dict(type='mmfish.RankAverageLogHook')]``. It runs before MMEngine's
    ``RuntimeInfoHook`` records the outputs (priority ``HIGHEST``) and costs one all-reduce of
    a few numbers per iteration; without distribution it does nothing. Only what is logged
    changes: the gradients are already averaged by DistributedDataParallel.
    """
    priority = 'HIGHEST'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or not is_distributed() or get_world_size() == 1:
            return
        keys = sorted(k for k, v in outputs.items()
                      if isinstance(v, torch.Tensor) and v.numel() == 1)
        if not keys:
            return
        values = torch.stack([outputs[k].detach().float().reshape(()) for k in keys])
        all_reduce(values, op='mean')
        for key, value in zip(keys, values):
            outputs[key] = value
