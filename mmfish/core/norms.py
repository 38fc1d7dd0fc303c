"""Norm construction: while a backbone is built, each GroupNorm of its ``norm_cfg`` is a
:class:`GroupNormSlot`, so that a ``num_groups`` that does not divide some layer's channels
fails once, naming them all (:func:`set_group_norms`), instead of at the first layer."""
import math

import torch.nn as nn

from .checks import divisors, is_group_norm


class GroupNormSlot(nn.GroupNorm):
    """A GroupNorm built with one group that keeps the ``num_groups`` asked for: while a
    backbone is built, every GroupNorm of ``norm_cfg`` is one, so that a ``num_groups`` that
    does not divide some layer's channels fails once, naming them all
    (:func:`set_group_norms`)."""

    def __init__(self, num_channels: int, num_groups: int, **kwargs):
        super().__init__(1, num_channels, **kwargs)
        self.groups_asked = num_groups


def slot_group_norms(norm_cfg: dict) -> dict:
    """``norm_cfg``, which builds :class:`GroupNormSlot` layers where it builds GroupNorm."""
    return dict(norm_cfg, type=GroupNormSlot) if is_group_norm(norm_cfg) else norm_cfg


def set_group_norms(model: nn.Module, norm_cfg: dict) -> None:
    """Replace each :class:`GroupNormSlot` of ``model`` by the GroupNorm asked for, or raise a
    ValueError that names ``norm_cfg``, the layers whose channels ``num_groups`` does not
    divide and the values that fit every layer."""
    slots = {name: m for name, m in model.named_modules() if isinstance(m, GroupNormSlot)}
    if not slots:
        return
    groups = norm_cfg['num_groups']
    channels = {name: m.num_channels for name, m in slots.items()}
    bad = [f'{name}: {c}' for name, c in channels.items() if c % groups]
    if bad:
        gcd = math.gcd(*channels.values())
        valid = divisors(gcd)
        raise ValueError(
            f'norm_cfg={norm_cfg!r} does not fit this {type(model).__name__}: GroupNorm needs '
            f'num_groups to divide the channels of every norm layer; num_groups={groups} does '
            f'not divide the channels of {len(bad)} of its {len(channels)} norm layers (e.g. '
            f'{", ".join(bad[:3])}); valid num_groups for this configuration: '
            f'{", ".join(map(str, valid))}')
    for name, slot in slots.items():
        parent, _, child = name.rpartition('.')
        norm = nn.GroupNorm(slot.groups_asked, slot.num_channels, slot.eps, slot.affine)
        if slot.affine:
            norm.requires_grad_(slot.weight.requires_grad)
        setattr(model.get_submodule(parent), child, norm)
