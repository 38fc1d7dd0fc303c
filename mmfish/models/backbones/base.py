"""Pieces every mmfish backbone shares: frozen stages, ``norm_eval``, the memory format, input
checks, strict pretrained loading (:class:`BackboneBase`) and activation checkpointing of
residual blocks (:class:`ResidualBlock`)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import PretrainedInit, update_init_info
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint.pretrained import pretrained_state
from ..layers.memory_format import ToContiguous
from .args import check_bool, check_init_cfg, check_int

DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]


try:  # torch >= 2.4: autocast state per device type
    torch.is_autocast_enabled('cpu')
    _AUTOCAST_PER_DEVICE = True
except TypeError:
    _AUTOCAST_PER_DEVICE = False


def _autocast_enabled(device_type: str) -> bool:
    if _AUTOCAST_PER_DEVICE:
        return torch.is_autocast_enabled(device_type)
    return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


class ResidualBlock(BaseModule):
    """A residual block whose ``_forward`` may run under activation checkpointing.

    With ``with_cp=True`` the block's activations are recomputed in the backward pass instead
    of being stored, which trades compute for memory during training.
    """

    def __init__(self, with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        self.with_cp = with_cp

    def _forward(self, x):
        raise NotImplementedError

    def zero_init_last(self):
        """Make the residual branch output zero (``zero_init_residual``)."""
        raise NotImplementedError

    def forward(self, x):
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)


class BackboneBase(BaseModule):
    """``frozen_stages``, ``norm_eval`` and the memory format, over an ordered list of stage
    modules.

    Subclasses implement :meth:`stage_modules`: the stem first, then each stage in execution
    order. ``frozen_stages=k`` freezes the first ``k + 1`` entries (``-1`` freezes nothing).

    With ``channels_last=True`` (the default) the backbone keeps its convolution weights and
    its activations in the channels-last (NHWC) memory format, which oneDNN on CPUs and cuDNN
    with mixed precision run faster; it takes and returns ordinary (N, C, H, W) tensors in the
    default contiguous format, so the layout is invisible to necks, heads and checkpoints. Only
    the order of floating-point additions inside convolutions and norms (PyTorch's channels-last
    kernels) differs from the NCHW path.
    Subclasses call :meth:`_to_memory_format` at the end of ``__init__``, :meth:`_enter` on
    the input and :meth:`_exit` on each output.

    ``forward`` starts with :meth:`check_input`; ``init_weights`` loads
    ``init_cfg=dict(type='Pretrained', ...)`` strictly (see :meth:`init_weights`).
    """

    #: smallest input side (H and W) that gives every pyramid level, see :meth:`check_input`
    min_size: int = 1

    def __init__(self, frozen_stages: int, norm_eval: bool, zero_init_residual: bool,
                 init_cfg=None, channels_last: bool = True):
        check_init_cfg(init_cfg)
        super().__init__(init_cfg)
        for name, value in (('norm_eval', norm_eval), ('zero_init_residual', zero_init_residual),
                            ('channels_last', channels_last)):
            check_bool(name, value)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        self.channels_last = channels_last
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def _to_memory_format(self) -> None:
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    def _enter(self, x):
        return x.contiguous(memory_format=self.memory_format)

    def _exit(self, x):
        if self.channels_last and x.requires_grad:
            return ToContiguous.apply(x)
        return x.contiguous()

    def stage_modules(self) -> list:
        raise NotImplementedError

    def check_input(self, x) -> None:
        """Fail clearly on an input the backbone cannot take.

        The input must be a 4-D tensor (N, C, H, W) with ``C == in_channels`` and
        ``H, W >= min_size``, of a floating dtype: the weights' dtype, or under
        ``torch.autocast`` any but float64 (which autocast does not cast). Only the type,
        shape and dtype are looked at (no data), so the check is cheap and traces without
        graph breaks under ``torch.compile`` and ``torch.onnx.export``.
        """
        name = type(self).__name__
        channels = self.in_channels
        if not isinstance(x, torch.Tensor):
            hint = (': stack the images into one (N, C, H, W) tensor'
                    if isinstance(x, (list, tuple)) else '')
            raise TypeError(f'{name} expects a torch.Tensor of shape (N, {channels}, H, W), '
                            f'got a {type(x).__name__}{hint}')
        if x.dim() != 4:
            hint = ' (one image? add the batch dimension: x[None])' if x.dim() == 3 else ''
            raise ValueError(f'{name} expects a 4-D input (N, {channels}, H, W), got a '
                             f'{x.dim()}-D tensor of shape {tuple(x.shape)}{hint}')
        # TorchScript tracing (the legacy ONNX export) records sizes as tensors and warns when
        # they are compared: it traces with an example input, so skip the size checks there
        sizes = not torch.jit.is_tracing()
        if sizes and x.shape[1] != channels:
            hint = (' (channels last? use x.permute(0, 3, 1, 2))'
                    if x.shape[3] == channels else '')
            raise ValueError(f'{name} was built with in_channels={channels}, but the input '
                             f'of shape {tuple(x.shape)} has {x.shape[1]} channels; expected '
                             f'(N, {channels}, H, W){hint}')
        if sizes and (x.shape[2] < self.min_size or x.shape[3] < self.min_size):
            raise ValueError(f'{name} needs inputs of at least {self.min_size}x{self.min_size} '
                             f'pixels (H, W >= min_size={self.min_size}), got H x W = '
                             f'{x.shape[2]}x{x.shape[3]} (input shape {tuple(x.shape)})')
        if not x.is_floating_point():
            raise TypeError(f'{name} got an input of dtype {x.dtype} (shape {tuple(x.shape)}): '
                            f'convert images to floating point with .float() and normalise '
                            f'them (subtract the mean, divide by the std, as a data '
                            f'preprocessor does) before the backbone')
        weight = next(self.parameters())
        if x.dtype != weight.dtype:
            autocast = _autocast_enabled(x.device.type)
            if not autocast or torch.float64 in (x.dtype, weight.dtype):
                raise TypeError(
                    f'{name} got an input of dtype {x.dtype}, but its weights are '
                    f'{weight.dtype}: convert the input (x.to({weight.dtype})) or the model '
                    f'(model.to({x.dtype}))'
                    + (' (autocast does not cast float64)' if autocast else
                       ', or run it under torch.autocast'))

    def explain_norm_error(self, exc: ValueError) -> Optional[ValueError]:
        """PyTorch's ``Expected more than 1 value per channel when training`` as an error that
        names the layer, the cause and the remedies; None for any other error. PyTorch raises
        it for a BatchNorm in training that sees one value per channel, and for a GroupNorm
        (in training or not) whose groups hold one value each: one channel per group, one
        image and a 1x1 feature map.

        Called by ``forward`` only when it raises: the layer is the BatchNorm or GroupNorm
        whose ``forward`` is on the traceback, so the normal path costs nothing."""
        text = str(exc)
        if 'Expected more than 1 value per channel' not in text:
            return None
        culprit, tb = None, exc.__traceback__
        while tb is not None:
            owner = tb.tb_frame.f_locals.get('self')
            if isinstance(owner, (_BatchNorm, nn.GroupNorm)):
                culprit = owner
            tb = tb.tb_next
        del tb
        names = {id(m): n for n, m in self.named_modules()}
        name = names.get(id(culprit))
        if name is None:
            return None
        model = type(self).__name__
        parent = self.get_submodule(name.rpartition('.')[0]) if '.' in name else self
        explain = getattr(parent, 'explain_one_value_norm', None)
        cause = explain(name.rpartition('.')[2]) if explain is not None else None
        group_norm = isinstance(culprit, nn.GroupNorm)
        if cause is None and group_norm:
            channels, groups = culprit.num_channels, culprit.num_groups
            # the most groups that leave two or more channels each (0: one channel in all)
            fewer = max((d for d in range(1, channels // 2 + 1) if channels % d == 0), default=0)
            cause = (f'each of its {groups} groups holds one value: {channels} channels in '
                     f'{groups} groups (one channel per group), one image (batch 1) and a 1x1 '
                     'feature map at this layer')
            remedies = ('fewer groups, so that each holds two or more channels '
                        f"(norm_cfg=dict(type='GN', num_groups={fewer}): num_groups dividing "
                        f'{channels} and at most {channels // 2})'
                        if fewer else 'a norm layer other than GroupNorm')
            remedies += ', or larger inputs (a feature map larger than 1x1 here)'
        elif cause is None:
            cause = ('its input has one value per channel: one image (batch 1) whose feature '
                     'map is 1x1 at this layer')
            remedies = ('larger inputs, two or more images per GPU, SyncBN across GPUs '
                        "(norm_cfg=dict(type='SyncBN')) or GroupNorm (norm_cfg=dict(type='GN', "
                        'num_groups=...))')
        else:
            cause, remedies = cause
        where = '' if group_norm else ' in training'
        return ValueError(f'{model}: the norm layer {name} ({type(culprit).__name__}) cannot '
                          f'normalise{where}: {cause}. Remedies: {remedies}. (PyTorch: '
                          f'{text})')

    def _check_frozen_stages(self) -> None:
        num = len(self.stage_modules()) - 1
        check_int('frozen_stages', self.frozen_stages, minimum=-1)
        if not -1 <= self.frozen_stages <= num:
            raise ValueError(f'frozen_stages={self.frozen_stages} is out of range for '
                             f'{type(self).__name__}: valid values are -1 (none), 0 (the stem) '
                             f'to {num} (the stem and all {num} stages)')

    def _freeze_stages(self) -> None:
        for module in self.stage_modules()[:self.frozen_stages + 1]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def _pretrained_cfg(self) -> Optional[dict]:
        check_init_cfg(self.init_cfg)  # it may have been set after construction
        cfgs = self.init_cfg if isinstance(self.init_cfg, (list, tuple)) else [self.init_cfg]
        found = [cfg for cfg in cfgs if isinstance(cfg, dict)
                 and cfg.get('type') in ('Pretrained', PretrainedInit)]
        if len(found) > 1:
            raise ValueError(f'init_cfg={self.init_cfg!r} has {len(found)} Pretrained entries; '
                             f'give one checkpoint')
        return found[0] if found else None

    def init_weights(self):
        """Initialise as MMEngine does, but load ``init_cfg=dict(type='Pretrained',
        checkpoint=..., prefix=...)`` strictly: the checkpoint is read (weights only) and
        compared with the model before anything changes, and any missing or unexpected key or
        shape mismatch raises :class:`~mmfish.checkpoint.CheckpointMismatchError`
        naming the likely cause. ``zero_init_residual`` applies only without pretrained
        weights."""
        pretrained = self._pretrained_cfg()
        if pretrained is None:
            super().init_weights()
            for m in self.modules():  # deformable convolutions start as regular ones
                offset = getattr(m, 'conv_offset', None)
                if isinstance(offset, torch.nn.Conv2d):
                    torch.nn.init.zeros_(offset.weight)
                    if offset.bias is not None:
                        torch.nn.init.zeros_(offset.bias)
            if self.zero_init_residual:
                # every residual block starts as an identity: zero its last norm (or conv)
                for m in self.modules():
                    if isinstance(m, ResidualBlock):
                        m.zero_init_last()
            return
        if self.is_init:
            super().init_weights()  # MMEngine warns that it was called more than once
            return
        checkpoint, prefix = pretrained.get('checkpoint'), pretrained.get('prefix')
        state = pretrained_state(self, checkpoint, prefix)  # raises before anything changes
        init_cfg = self.init_cfg
        cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
        others = [cfg for cfg in cfgs if cfg is not pretrained]
        self.init_cfg = others or None
        try:  # the other init_cfg entries, the children's init_weights, is_init = True
            super().init_weights()
        finally:
            self.init_cfg = init_cfg
        self.load_state_dict(state, strict=True)
        if hasattr(self, '_params_init_info'):  # MMEngine's record of who set each parameter
            update_init_info(self, init_info=f'{type(self).__name__}: loaded {checkpoint}')
        print_log(f'loaded {len(state)} tensors from {checkpoint}'
                  + (f" (prefix '{prefix}')" if prefix else ''), logger='current')

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

