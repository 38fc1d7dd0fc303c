"""What the benchmark compares: for a model, mmfish's implementation and every installed peer.

A :class:`Subject` is one model (``resnest50``, ``res2net50-v1b-w26-s4``, ...). Its
implementations (:class:`Impl`) are mmfish's and its peers': the ResNeSt and Res2Net of
mmdet, mmseg and mmpretrain, timm's, the official FishNet code when its directory is given,
and torchvision's ResNet-50 as the reference for how fast the machine runs a plain residual
network. Each peer knows how its weights look on disk, so that the benchmark can convert them
with mmfish's converters and check that both compute the same function before timing them.
"""
import importlib
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn

from .. import build_in_scope


class PeerUnavailable(RuntimeError):
    """A peer implementation that is not installed (or not given) on this machine."""


@dataclass
class Impl:
    """One implementation of a subject.

    ``build(**kwargs)`` returns a module whose forward maps images to a tensor or a tuple of
    feature maps. ``checkpoint(module)`` returns what a user of that implementation would
    save (the input of mmfish's converter); ``None`` for mmfish itself and the reference.
    ``note`` says what was done to the peer to make it comparable, if anything.
    """
    name: str
    build: Callable[..., nn.Module]
    checkpoint: Optional[Callable[[nn.Module], dict]] = None
    note: str = ''


@dataclass
class Subject:
    """A model: mmfish's implementation (``None`` for the reference) and its peers'."""
    name: str
    family: Optional[str]  # the converter family ('fishnet', 'res2net', 'resnest')
    mmfish: Optional[Impl]
    peers: List[Impl] = field(default_factory=list)
    #: what the timed forward returns (the backbone's four levels, or classifier logits)
    output: str = 'features'

    @property
    def impls(self) -> List[Impl]:
        return ([self.mmfish] if self.mmfish else []) + self.peers


class FeatureOutputs(nn.Module):
    """Wraps a module so that it returns a tuple of tensors (for peers with other outputs)."""

    def __init__(self, module: nn.Module, fn: Callable):
        super().__init__()
        self.module = module
        self.fn = fn

    def forward(self, x):
        return tuple(self.fn(self.module, x))


class ChannelsLast(nn.Module):
    """A peer run as its training scripts offer (timm's ``--channels-last``): weights and
    input in the channels-last memory format; the outputs as the peer returns them."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module.to(memory_format=torch.channels_last)

    def forward(self, x):
        return self.module(x.contiguous(memory_format=torch.channels_last))


class Logits(nn.Module):
    """An mmpretrain ``ImageClassifier`` as a plain images-to-logits module."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(x, mode='tensor')


#: mmdet's ResNet family defaults to ``norm_eval=True``: BatchNorm stays in eval mode (running
#: statistics) while training, another computation than the batch statistics mmfish (and mmseg,
#: mmpretrain, timm) use by default, and a cheaper one. The benchmark's train-mode equality
#: check refuses it, so mmdet's backbones are built with ``norm_eval=False``.
MMDET_NORM_EVAL = 'norm_eval=False'


def _toolbox_backbone(toolbox: str, cfg: dict) -> nn.Module:
    try:
        importlib.import_module(f'{toolbox}.models')
    except ImportError as exc:
        raise PeerUnavailable(f'{toolbox} is not installed ({exc})') from None
    return build_in_scope(toolbox, dict(cfg))


def _openmmlab_checkpoint(module: nn.Module) -> dict:
    """What a detector/segmentor/classifier of that toolbox saves: ``backbone.`` keys."""
    return {'state_dict': {f'backbone.{k}': v for k, v in module.state_dict().items()}}


def _plain_checkpoint(module: nn.Module) -> dict:
    inner = module.module if isinstance(module, FeatureOutputs) else module
    return dict(inner.state_dict())


def _mmdet_res2net_with_stage_pool(cfg: dict) -> nn.Module:
    """mmdet's Res2Net leaves out the official average pool of the last split in the first
    block of layer1 (stride 1); it is put back so that the peer computes the official model."""
    model = _toolbox_backbone('mmdet', cfg)
    first = model.layer1[0]
    first.pool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
    first.conv2_stride = -1  # takes mmdet's `stage_type == 'stage'` branch with the pool
    return model


def _timm(name: str) -> nn.Module:
    try:
        import timm
    except ImportError:
        raise PeerUnavailable('timm is not installed (pip install timm)') from None
    return FeatureOutputs(timm.create_model(name, pretrained=False, num_classes=0),
                          lambda m, x: m.forward_intermediates(x, indices=4,
                                                               intermediates_only=True))


def _torchvision_resnet50() -> nn.Module:
    try:
        import torchvision
    except ImportError:
        raise PeerUnavailable('torchvision is not installed') from None

    def stages(m, x):
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        for name in ('layer1', 'layer2', 'layer3', 'layer4'):
            x = getattr(m, name)(x)
            yield x

    return FeatureOutputs(torchvision.models.resnet50(), stages)


def _mmfish_backbone(cfg: dict):
    def build(**kwargs) -> nn.Module:
        from mmfish.registry import MODELS
        return MODELS.build(dict(cfg, **kwargs))
    return build


def _mmfish_classifier(variant: str):
    def build(**kwargs) -> nn.Module:
        from mmfish.variants import VARIANTS

        from .. import checkout_root
        from ..model_table import build_classifier
        config = str(checkout_root() / VARIANTS[variant].config)
        return Logits(build_classifier(config, backbone=kwargs))
    return build


#: where the official FishNet code lives (a clone of github.com/kevin-ssy/FishNet); set by
#: ``tools/benchmark.py --official-fishnet DIR``. The code is run, never copied.
OFFICIAL_FISHNET_DIR: Optional[str] = None


def _official_fishnet(depth: int) -> nn.Module:
    if not OFFICIAL_FISHNET_DIR:
        raise PeerUnavailable('the official FishNet code: give its directory with '
                              '--official-fishnet DIR (a clone of github.com/kevin-ssy/FishNet)')
    if OFFICIAL_FISHNET_DIR not in sys.path:
        sys.path.insert(0, OFFICIAL_FISHNET_DIR)
    try:
        factory = importlib.import_module('models.net_factory')
    except ImportError as exc:
        raise PeerUnavailable(f'no official FishNet code in {OFFICIAL_FISHNET_DIR}: {exc}') \
            from None
    return getattr(factory, f'fishnet{depth}')()


def _official_checkpoint(module: nn.Module) -> dict:
    """The official training script's checkpoint: DataParallel keys under 'state_dict'."""
    return {'state_dict': {f'module.{k}': v for k, v in module.state_dict().items()},
            'epoch': 100, 'best_prec1': 0.0}


def _resnest(depth: int, stem: int, timm_name: str) -> Subject:
    cfg = dict(type='ResNeSt', depth=depth, stem_channels=stem, radix=2, reduction_factor=4,
               avg_down_stride=True)
    return Subject(f'resnest{depth}', 'resnest', Impl('mmfish', _mmfish_backbone(dict(
        type='mmfish.ResNeSt', depth=depth, stem_channels=stem))), [
        Impl('mmdet', lambda: _toolbox_backbone('mmdet', dict(cfg, norm_eval=False)),
             _openmmlab_checkpoint, note=MMDET_NORM_EVAL),
        Impl('mmseg', lambda: _toolbox_backbone('mmseg', cfg), _openmmlab_checkpoint),
        Impl('mmpretrain', lambda: _toolbox_backbone(
            'mmpretrain', dict(type='ResNeSt', depth=depth, stem_channels=stem,
                               out_indices=(0, 1, 2, 3))),
             _openmmlab_checkpoint),
        Impl(f'timm {timm_name}', lambda: _timm(timm_name), _plain_checkpoint),
    ])


def _res2net(v1b: bool) -> Subject:
    stem = dict(deep_stem=v1b, avg_down=v1b)
    name = 'res2net50-v1b-w26-s4' if v1b else 'res2net50-w26-s4'
    timm_name = 'res2net50d' if v1b else 'res2net50_26w_4s'
    cfg = dict(type='Res2Net', depth=50, scales=4, base_width=26, **stem)
    peers = [
        Impl('mmpretrain', lambda: _toolbox_backbone(
            'mmpretrain', dict(cfg, out_indices=(0, 1, 2, 3))), _openmmlab_checkpoint),
        Impl(f'timm {timm_name}', lambda: _timm(timm_name), _plain_checkpoint),
    ]
    if v1b:  # mmdet's Res2Net always has the deep stem and avg-down shortcuts
        peers.insert(0, Impl('mmdet', lambda: _mmdet_res2net_with_stage_pool(
            dict(cfg, norm_eval=False)), _openmmlab_checkpoint,
                             note="with the average pool of layer1.0's last split, which "
                                  f'mmdet leaves out, put back; {MMDET_NORM_EVAL}'))
    return Subject(name, 'res2net', Impl('mmfish', _mmfish_backbone(
        dict(cfg, type='mmfish.Res2Net'))), peers)


def _fishnet(depth: int) -> Subject:
    return Subject(f'fishnet{depth}', 'fishnet', Impl('mmfish', _mmfish_classifier(
        f'fishnet{depth}')), [
        Impl('official', lambda: _official_fishnet(depth), _official_checkpoint),
    ], output='logits')


def _subjects() -> Dict[str, Subject]:
    subjects = [
        _resnest(50, 64, 'resnest50d'),
        _resnest(101, 128, 'resnest101e'),
        _res2net(False),
        _res2net(True),
        _fishnet(99),
        _fishnet(150),
        Subject('resnet50', None, None, [Impl('torchvision', _torchvision_resnet50)]),
    ]
    return {s.name: s for s in subjects}


SUBJECTS: Dict[str, Subject] = _subjects()
