"""The diagnoses when a backbone runs: its input checked before the forward pass
(:func:`check_input`), and a norm layer that cannot normalise what reaches it found by running
the forward pass again with hooks (:func:`explain_norm_error`)."""
import math
import re
from typing import Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from .checks import fewer_groups

try:  # torch >= 2.4: autocast state per device type
    torch.is_autocast_enabled('cpu')
    _AUTOCAST_PER_DEVICE = True
except TypeError:
    _AUTOCAST_PER_DEVICE = False


def _autocast_enabled(device_type: str) -> bool:
    if _AUTOCAST_PER_DEVICE:
        return torch.is_autocast_enabled(device_type)
    return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


def check_input(model, x) -> None:
    """See :meth:`~mmfish.core.base.BackboneBase.check_input`."""
    name = type(model).__name__
    channels = model.in_channels
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
    if sizes and (x.shape[2] < model.min_size or x.shape[3] < model.min_size):
        raise ValueError(f'{name} needs inputs of at least {model.min_size}x{model.min_size} '
                         f'pixels (H, W >= min_size={model.min_size}), got H x W = '
                         f'{x.shape[2]}x{x.shape[3]} (input shape {tuple(x.shape)})')
    if not x.is_floating_point():
        raise TypeError(f'{name} got an input of dtype {x.dtype} (shape {tuple(x.shape)}): '
                        f'convert images to floating point with .float() and normalise '
                        f'them (subtract the mean, divide by the std, as a data '
                        f'preprocessor does) before the backbone')
    weight = next(model.parameters())
    if x.dtype != weight.dtype:
        autocast = _autocast_enabled(x.device.type)
        if not autocast or torch.float64 in (x.dtype, weight.dtype):
            raise TypeError(
                f'{name} got an input of dtype {x.dtype}, but its weights are '
                f'{weight.dtype}: convert the input (x.to({weight.dtype})) or the model '
                f'(model.to({x.dtype}))'
                + (' (autocast does not cast float64)' if autocast else
                   ', or run it under torch.autocast'))


ONE_VALUE = 'Expected more than 1 value per channel'


def _cannot_normalise(norm: nn.Module, shape: Sequence[int], training: bool) -> bool:
    """Whether PyTorch refuses ``norm`` an input of ``shape``: a BatchNorm that normalises
    with batch statistics (``training``) one value per channel, a GroupNorm one value per
    group."""
    values = shape[0] * math.prod(shape[2:])
    if isinstance(norm, nn.GroupNorm):
        return shape[1] == norm.num_channels and values * (shape[1] // norm.num_groups) == 1
    return training and shape[1] == norm.num_features and values == 1


class _Found(Exception):
    pass


def failing_norm(model: nn.Module, shape: Sequence[int], x=None) -> Optional[str]:
    """The name of the first norm layer of ``model`` that cannot normalise an input of
    ``shape``: the first that the forward pass on ``x`` reaches with one (run again without
    gradients, with the norm layers in eval mode so that no statistics change), or without
    ``x`` the first in the model's order."""
    norms = {m: name for name, m in model.named_modules()
             if isinstance(m, (_BatchNorm, nn.GroupNorm))}
    # as F.batch_norm: batch statistics in training, or without running statistics
    training = {m: m.training or getattr(m, 'running_mean', None) is None for m in norms}
    if x is None:
        return next((n for m, n in norms.items() if _cannot_normalise(m, shape, training[m])),
                    None)
    found = []

    def stop_at_the_failing_norm(norm, args):
        if tuple(args[0].shape) == tuple(shape) and _cannot_normalise(norm, shape,
                                                                       training[norm]):
            found.append(norms[norm])
            raise _Found

    handles = [m.register_forward_pre_hook(stop_at_the_failing_norm) for m in norms]
    modes = {m: m.training for m in norms}
    try:
        for m in norms:
            m.train(False)
        with torch.no_grad():
            for _ in model.forward_levels(model._enter(x)):
                pass
    except _Found:
        pass
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in modes.items():
            m.train(mode)
    return found[0] if found else None


def explain_norm_error(model: nn.Module, exc: ValueError, x=None) -> Optional[ValueError]:
    """See :meth:`~mmfish.core.base.BackboneBase.explain_norm_error`."""
    text = str(exc)
    size = re.search(r'got input size (?:torch\.Size\()?\[([\d, ]+)\]', text)
    if ONE_VALUE not in text or size is None:
        return None
    shape = [int(s) for s in size.group(1).split(',')]
    name = failing_norm(model, shape, x)
    if name is None:
        return None
    culprit = model.get_submodule(name)
    parent = model.get_submodule(name.rpartition('.')[0])
    explain = getattr(parent, 'explain_one_value_norm', None)
    cause = explain(name.rpartition('.')[2]) if explain is not None else None
    group_norm = isinstance(culprit, nn.GroupNorm)
    if cause is None and group_norm:
        channels, groups = culprit.num_channels, culprit.num_groups
        fewer = fewer_groups(channels)
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
    return ValueError(f'{type(model).__name__}: the norm layer {name} '
                      f'({type(culprit).__name__}) cannot normalise{where}: {cause}. '
                      f'Remedies: {remedies}. (PyTorch: {text})')
