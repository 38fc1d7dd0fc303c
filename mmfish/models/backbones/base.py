"""Pieces every mmfish backbone shares: argument checks, frozen stages, ``norm_eval`` and
activation checkpointing of residual blocks."""
from typing import Sequence

import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

NUM_LEVELS = 4  # pyramid levels at strides 4, 8, 16 and 32

DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]


def check_choice(name: str, value, valid) -> None:
    if value not in valid:
        raise ValueError(f'{name}={value!r} is not supported; valid values: '
                         f'{", ".join(map(str, sorted(valid)))}')


def check_out_indices(out_indices: Sequence[int]) -> tuple:
    out_indices = tuple(out_indices)
    if not out_indices or any(not 0 <= i < NUM_LEVELS for i in out_indices):
        raise ValueError(f'out_indices={out_indices} is invalid; each index must be in '
                         f'0..{NUM_LEVELS - 1} (pyramid levels at strides 4, 8, 16, 32)')
    return out_indices


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
    """``frozen_stages`` and ``norm_eval`` over an ordered list of stage modules.

    Subclasses implement :meth:`stage_modules`: the stem first, then each stage in execution
    order. ``frozen_stages=k`` freezes the first ``k + 1`` entries (``-1`` freezes nothing).
    """

    def __init__(self, frozen_stages: int, norm_eval: bool, zero_init_residual: bool,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual

    def stage_modules(self) -> list:
        raise NotImplementedError

    def _check_frozen_stages(self) -> None:
        num = len(self.stage_modules()) - 1
        if not -1 <= self.frozen_stages <= num:
            raise ValueError(f'frozen_stages={self.frozen_stages} is out of range for '
                             f'{type(self).__name__}: valid values are -1 (none), 0 (the stem) '
                             f'to {num} (the stem and all {num} stages)')

    def _freeze_stages(self) -> None:
        for module in self.stage_modules()[:self.frozen_stages + 1]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def init_weights(self):
        super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained'
        if self.zero_init_residual and not pretrained:
            # every residual block starts as an identity: zero its last norm (or conv)
            for m in self.modules():
                if isinstance(m, ResidualBlock):
                    m.zero_init_last()

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

