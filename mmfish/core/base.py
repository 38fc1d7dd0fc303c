"""What every mmfish backbone shares (:class:`BackboneBase`): the arguments of mmdet's ResNet,
one ``forward`` over the pyramid levels, frozen stages, ``norm_eval``, the memory format and
strict pretrained loading; and the residual block (:class:`ResidualBlock`) with its plugins
and activation checkpointing. The argument checks are :mod:`.checks` and :mod:`.contract`,
the GroupNorm construction :mod:`.norms`, the run-time diagnoses :mod:`.diagnose`."""
from typing import Iterator, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import PretrainedInit, update_init_info
from torch.nn.modules.batchnorm import _BatchNorm

from . import diagnose, norms
from .checks import check_arguments, check_init_cfg, init_arguments
from .contract import check_mmdet_arguments, reject_unknown
from .layers.memory_format import ToContiguous, preferred_memory_format
from .layers.plugins import POSITIONS, build_block_plugins
from .pretrained import pretrained_state

DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]


def bottleneck_width(planes: int, base_width: int, groups: int = 1) -> int:
    """The channels of a grouped (ResNeXt) bottleneck: ``groups`` groups of
    ``int(planes * base_width / 64)`` channels (0 when ``base_width`` is too small)."""
    return int(planes * base_width / 64) * groups


def conv_norm_relu(conv_cfg, norm_cfg, in_channels: int, out_channels: int, kernel_size: int,
                   stride: int = 1) -> list:
    """A convolution without bias (padded to keep the size at stride 1), a norm and a ReLU."""
    return [
        build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size, stride=stride,
                         padding=kernel_size // 2, bias=False),
        build_norm_layer(norm_cfg, out_channels)[1],
        nn.ReLU(inplace=True),
    ]


class ResidualBlock(BaseModule):
    """A residual block whose ``_forward`` may run under activation checkpointing, with mmdet's
    plugin layers.

    With ``with_cp=True`` the block's activations are recomputed in the backward pass instead
    of being stored, which trades compute for memory during training. :meth:`add_plugins`
    builds one stage's ``plugins`` (see :mod:`mmfish.core.layers.plugins`) into the block,
    and ``_forward`` runs those of a position with :meth:`run_plugins`.
    """

    def __init__(self, with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        self.with_cp = with_cp
        self.plugin_names = {position: () for position in POSITIONS}

    def add_plugins(self, plugins, channels: dict) -> None:
        """Build ``plugins`` with the channels at each position (``after_conv1``, ...)."""
        self.plugin_names = build_block_plugins(self, plugins or (), channels)

    def run_plugins(self, position: str, x):
        for name in self.plugin_names[position]:
            x = getattr(self, name)(x)
        return x

    def _forward(self, x, *args):
        raise NotImplementedError

    def zero_init_last(self):
        """Make the residual branch output zero (``zero_init_residual``)."""
        raise NotImplementedError

    def forward(self, x, *args):
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, *args, use_reentrant=False)
        return self._forward(x, *args)


class BackboneBase(BaseModule):
    """A backbone: the arguments every family takes, and a feature pyramid.

    A subclass builds its layers in ``__init__`` between ``super().__init__(**kwargs)``, which
    checks the arguments below (and refuses unknown ones), and :meth:`_finish_init`; it sets
    ``in_channels`` and ``feature_info`` (one ``dict(num_chs=..., reduction=..., module=...)``
    per pyramid level) and implements:

    * :meth:`forward_levels`: the pyramid levels of an input; ``forward`` checks the input
      (:meth:`check_input`), returns the levels of ``out_indices`` and names the norm layer
      that could not normalise (:meth:`explain_norm_error`);
    * :meth:`stage_modules`: the stem first, then each stage in execution order.

    A backbone with ``mmdet_contract = True`` also takes mmdet's ResNet arguments ``dcn``,
    ``stage_with_dcn``, ``plugins``, ``style`` (only ``'pytorch'``), ``num_stages`` (only 4)
    and ``pretrained`` (deprecated, as in mmdet: becomes ``init_cfg=dict(type='Pretrained',
    checkpoint=pretrained)`` with a DeprecationWarning), and passes them on as ``mmdet``.

    The memory format: with ``channels_last=True`` the backbone keeps its convolution weights
    and its activations in the channels-last (NHWC) memory format, which oneDNN on most CPUs and
    cuDNN with mixed precision run faster; with ``False``, in the default NCHW format. With
    ``'auto'`` (the default) it runs in whichever of the two was measured faster for this
    backbone on its device, CPU vector ISA and mode (train or eval):
    :func:`~mmfish.core.layers.memory_format.preferred_memory_format` and its table
    ``NCHW_FASTER`` (on AVX2 CPUs ResNeSt and Res2Net train NCHW and infer channels-last;
    everywhere else channels-last). The weights change layout when the mode or the device
    changes (``train()``, ``eval()``, ``to()``), not during a forward pass, so a model that only
    trains keeps one layout. The backbone takes and returns ordinary (N, C, H, W) tensors in the
    default contiguous format, so the layout is invisible to necks, heads and checkpoints. Only
    the order of floating-point additions inside convolutions and norms (PyTorch's channels-last
    kernels) differs between the two.

    Args:
        out_indices (Sequence[int]): Pyramid levels to return (0..3, at strides 4, 8, 16 and 32
            unless the family's strides say otherwise), increasing. Defaults to (0, 1, 2, 3).
        frozen_stages (int): -1 freezes nothing, 0 the stem, k the stem and the first k stages
            (:meth:`stage_modules`). Defaults to -1.
        conv_cfg (dict, optional): mmcv config of the convolutions. Defaults to None
            (``nn.Conv2d``).
        norm_cfg (dict): mmcv config of the norm layers (``BN``, ``SyncBN``, ``GN`` with
            ``num_groups``, ...). Defaults to ``dict(type='BN', requires_grad=True)``.
        norm_eval (bool): Keep BatchNorm layers in eval mode (frozen statistics) while
            training. Defaults to False.
        with_cp (bool): Activation checkpointing in every block: less memory, more compute.
            Defaults to False.
        zero_init_residual (bool): Zero the last norm (or conv) of each block, unless
            pretrained weights are loaded. Defaults to True.
        channels_last (bool or str): ``True`` runs in the channels-last memory format,
            ``False`` in NCHW, ``'auto'`` in the faster one for the device, CPU ISA and mode
            (see above). Defaults to ``'auto'``.
        init_cfg (dict or list[dict]): MMEngine initialisation; ``dict(type='Pretrained',
            checkpoint=PATH, prefix='backbone.')`` loads weights strictly (see
            :meth:`init_weights`). Defaults to Kaiming convolutions and unit norm weights (and
            zero offsets of deformable convolutions).
        mmdet (dict, optional): A subclass's mmdet ResNet arguments (``mmdet_contract``).
            Defaults to None.
        **kwargs: Nothing else is taken: any other name is refused with the closest valid one
            (and mmdet's ResNet arguments, by a backbone that does not take them, with the
            reason).
    """

    #: whether the backbone takes mmdet's ResNet arguments
    #: (:data:`.contract.UNSUPPORTED_MMDET_ARGS`)
    mmdet_contract: bool = False
    #: what one entry of ``stage_with_dcn`` (and of a plugin's ``stages``) stands for
    stage_kind: str = 'stage'
    #: how the family's own arguments are checked (:func:`.checks.check_arguments`'s kinds)
    argument_kinds: dict = {}
    #: smallest input side (H and W) that gives every pyramid level, see :meth:`check_input`
    min_size: int = 1

    def __init__(self, out_indices: Sequence[int] = (0, 1, 2, 3), frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True), norm_eval: bool = False,
                 with_cp: bool = False, zero_init_residual: bool = True,
                 channels_last: Union[bool, str] = 'auto', init_cfg=DEFAULT_INIT_CFG,
                 mmdet: Optional[dict] = None, **kwargs):
        valid = init_arguments(type(self).__mro__[:type(self).__mro__.index(BaseModule)])
        reject_unknown(type(self), kwargs,
                       [n for n in valid if n != 'mmdet'])
        if self.mmdet_contract:
            mmdet = check_mmdet_arguments(type(self), init_cfg, DEFAULT_INIT_CFG, conv_cfg,
                                          self.stage_kind, **mmdet)
            init_cfg = mmdet.pop('init_cfg')
        check_arguments(init_cfg=init_cfg, norm_eval=norm_eval,
                        zero_init_residual=zero_init_residual, channels_last=channels_last,
                        with_cp=with_cp, norm_cfg=norm_cfg, out_indices=out_indices,
                        frozen_stages=frozen_stages)
        super().__init__(init_cfg)
        for name, value in (mmdet or {}).items():  # dcn, stage_with_dcn, plugins, style, ...
            setattr(self, name, value)
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        # GroupNorm layers are built with one group until every layer's channels are known
        self.norm_cfg = norms.slot_group_norms(norm_cfg)
        self._norm_cfg_given = norm_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.channels_last = channels_last
        #: the layout the weights are in now (built NCHW; :meth:`_lay_out` sets it)
        self.memory_format = torch.contiguous_format

    def _finish_init(self) -> None:
        """The end of ``__init__``, once the layers and ``feature_info`` are built: GroupNorm's
        ``num_groups``, the frozen stages, the memory format, ``out_channels``."""
        norms.set_group_norms(self, self._norm_cfg_given)
        self.norm_cfg = self._norm_cfg_given
        del self._norm_cfg_given
        num = len(self.stage_modules()) - 1
        if not -1 <= self.frozen_stages <= num:
            raise ValueError(f'frozen_stages={self.frozen_stages} is out of range for '
                             f'{type(self).__name__}: valid values are -1 (none), 0 (the stem) '
                             f'to {num} (the stem and all {num} stages)')
        self._freeze_stages()
        self._lay_out()
        self.out_channels = tuple(self.feature_info[i]['num_chs'] for i in self.out_indices)

    def stage_modules(self) -> list:
        raise NotImplementedError

    def forward_levels(self, x) -> Iterator[torch.Tensor]:
        """Yield the pyramid levels (strides 4, 8, 16 and 32) of ``x``, in the memory format,
        in order: ``forward`` takes each returned level out of the memory format as it comes,
        before the next stage runs (the order of the autograd graph, and so of the gradients'
        sums, that training has always had)."""
        raise NotImplementedError

    def forward(self, x):
        self.check_input(x)
        try:
            return tuple(self._exit(level) for i, level in
                         enumerate(self.forward_levels(self._enter(x))) if i in self.out_indices)
        except ValueError as exc:  # a try costs nothing until it raises
            error = self.explain_norm_error(exc, x)
            if error is None:
                raise
            raise error from None

    def _enter(self, x):
        return x.contiguous(memory_format=self.memory_format)

    def _exit(self, x):
        if self.memory_format == torch.channels_last and x.requires_grad:
            return ToContiguous.apply(x)
        return x.contiguous()

    def wanted_memory_format(self) -> torch.memory_format:
        """The layout for the weights' device and the current mode: ``channels_last`` if
        True or False, else :func:`preferred_memory_format`'s."""
        if self.channels_last != 'auto':
            return torch.channels_last if self.channels_last else torch.contiguous_format
        weight = next(self.parameters(), None)
        return preferred_memory_format(type(self), weight.device if weight is not None else None,
                                       self.training)

    def _lay_out(self) -> None:
        """Put the 4-D weights (and buffers) into :meth:`wanted_memory_format` when they are
        not in it (``Module._apply`` keeps the parameter objects: optimizers are unaffected)."""
        fmt = self.wanted_memory_format()
        if fmt != self.memory_format:
            nn.Module._apply(self, lambda t: t.to(memory_format=fmt) if t.dim() == 4 else t)
            self.memory_format = fmt

    def _apply(self, fn, *args, **kwargs):
        """``to()``, ``cuda()``, ``half()``, ...; then the layout for the (new) device, which
        ``model.to(memory_format=...)`` does not override: ``channels_last`` decides it."""
        result = super()._apply(fn, *args, **kwargs)
        if 'memory_format' in self.__dict__:  # not while __init__ builds the layers
            self.memory_format = None  # whatever fn did to the layout: lay out again
            self._lay_out()
        return result

    def check_input(self, x) -> None:
        """Fail clearly on an input the backbone cannot take.

        The input must be a 4-D tensor (N, C, H, W) with ``C == in_channels`` and
        ``H, W >= min_size``, of a floating dtype: the weights' dtype, or under
        ``torch.autocast`` any but float64 (which autocast does not cast). Only the type,
        shape and dtype are looked at (no data), so the check is cheap and traces without
        graph breaks under ``torch.compile`` and ``torch.onnx.export``.
        """
        diagnose.check_input(self, x)

    def explain_norm_error(self, exc: ValueError, x=None) -> Optional[ValueError]:
        """PyTorch's ``Expected more than 1 value per channel when training`` as an error that
        names the layer, the cause and the remedies; None for any other error. PyTorch raises
        it for a BatchNorm in training that sees one value per channel, and for a GroupNorm
        (in training or not) whose groups hold one value each: one channel per group, one
        image and a 1x1 feature map.

        Called by ``forward`` only when it raises, so the normal path costs nothing: the layer
        is the first that the input ``x`` reaches with the size PyTorch names (the forward
        pass runs again to find it, without gradients and with the statistics unchanged);
        without ``x``, the first layer of the model that cannot normalise that size."""
        return diagnose.explain_norm_error(self, exc, x)

    def _freeze_stages(self) -> None:
        for module in self.stage_modules()[:self.frozen_stages + 1]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def _pretrained_cfg(self) -> Optional[dict]:
        check_init_cfg('init_cfg', self.init_cfg)  # it may have been set after construction
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
        self._lay_out()  # the mode's layout (channels_last='auto')
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

