"""What the benchmark compares: for a model, mmfish's implementation and every installed peer.

A :class:`Subject` is one model (``resnest50``, ``res2net50-v1b-w26-s4``, ...): each family
declares the models it is benchmarked on and their peers as data
(:attr:`mmfish.core.family.Family.benchmarked`: the ResNeSt and Res2Net of mmdet, mmseg and
mmpretrain, timm's, the official FishNet code when its directory is given), and this module
builds them; torchvision's ResNet-50 is the reference for how fast the machine runs a plain
residual network. Each peer knows how its weights look on disk, so that the benchmark can
convert them with mmfish's converters and check that both compute the same function before
timing them.
"""
import importlib
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn

from mmfish.core.family import FAMILIES, Family, watch_registrations
from mmfish.core.release import Benchmarked, Peer

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


#: where the authors' code of a family lives, by family (``'fishnet'``: a clone of
#: github.com/kevin-ssy/FishNet); set by ``tools/benchmark.py --official-fishnet DIR``. The code
#: is run, never copied.
OFFICIAL_DIRS: Dict[str, str] = {}


def _official(family: str, peer: Peer) -> nn.Module:
    root = OFFICIAL_DIRS.get(family)
    if not root:
        raise PeerUnavailable(f'the official {family} code: give its directory with '
                              f'--official-{family} DIR')
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        factory = importlib.import_module(peer.cfg['module'])
    except ImportError as exc:
        raise PeerUnavailable(f'no official {family} code in {root}: {exc}') from None
    return getattr(factory, peer.name)()


def _official_checkpoint(module: nn.Module) -> dict:
    """The official training script's checkpoint: DataParallel keys under 'state_dict'."""
    return {'state_dict': {f'module.{k}': v for k, v in module.state_dict().items()},
            'epoch': 100, 'best_prec1': 0.0}


def _toolbox_peer(peer: Peer) -> Impl:
    cfg, notes = dict(peer.cfg), [peer.note] if peer.note else []
    if peer.name == 'mmdet':
        cfg['norm_eval'] = False
        notes.append(MMDET_NORM_EVAL)

    def build() -> nn.Module:
        model = _toolbox_backbone(peer.name, cfg)
        return peer.adjust(model) if peer.adjust else model
    return Impl(peer.name, build, _openmmlab_checkpoint, note='; '.join(notes))


def _impl(family: str, peer: Peer) -> Impl:
    """How a peer of ``family``'s model is built and what its users save."""
    if peer.kind == 'toolbox':
        return _toolbox_peer(peer)
    if peer.kind == 'timm':
        return Impl(f'timm {peer.name}', lambda: _timm(peer.name), _plain_checkpoint,
                    note=peer.note)
    if peer.kind == 'official':
        return Impl('official', lambda: _official(family, peer), _official_checkpoint,
                    note=peer.note)
    raise ValueError(f'unknown peer kind {peer.kind!r}: toolbox, timm or official')


def subject(family: str, model: Benchmarked) -> Subject:
    """The subject of one of ``family``'s benchmarked models (:attr:`Family.benchmarked`)."""
    mine = (_mmfish_classifier(model.classifier) if model.classifier else
            _mmfish_backbone(dict(model.backbone, type=f'mmfish.{model.backbone["type"]}')))
    return Subject(model.name, family, Impl('mmfish', mine),
                   [_impl(family, p) for p in model.peers],
                   output='logits' if model.classifier else 'features')


def _subjects() -> Dict[str, Subject]:
    """Every registered family's benchmarked models (families by converter name), then
    torchvision's ResNet-50, the reference."""
    subjects = [subject(key, model) for key in sorted(FAMILIES)
                for model in FAMILIES[key].benchmarked]
    subjects.append(Subject('resnet50', None, None, [Impl('torchvision', _torchvision_resnet50)]))
    return {s.name: s for s in subjects}


SUBJECTS: Dict[str, Subject] = _subjects()


def _follow(family: Family, registered: bool) -> None:
    """A family registered later adds its benchmarked models; one unregistered takes them."""
    for model in family.benchmarked:
        if registered:
            SUBJECTS[model.name] = subject(family.key, model)
        else:
            SUBJECTS.pop(model.name, None)


watch_registrations(_follow)

