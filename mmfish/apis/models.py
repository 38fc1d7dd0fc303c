"""Weights outside configs: a released model as a plain ``torch.nn.Module``, its weights loaded
strictly from ``mmfish://<name>``, as timm's ``create_model(..., pretrained=True)`` gives one.

::

    import torch
    import mmfish

    model = mmfish.create_model('resnest14d', pretrained=False).eval()  # ImageNet classifier
    logits = model(torch.rand(1, 3, 224, 224))                         # (1, 1000)

    features = mmfish.create_model('fishnet99', pretrained=False, features_only=True)
    maps = features(torch.rand(1, 3, 224, 224))        # 4 maps, strides 4, 8, 16, 32
    features.feature_info.channels()                   # [320, 832, 1600, 2112]

With ``pretrained=True`` the weights are those of ``mmfish://<name>``
(:func:`mmfish.weights.hub.resolve`: fetched from the file's sources, verified, converted and
cached once, read from the cache afterwards).

What the two kinds of module are:

* **features** (``features_only=True``): :class:`Features`, the mmfish backbone (its
  ``backbone`` attribute, the class that configs build) returning a list of the pyramid levels
  ``out_indices``; ``feature_info`` gives each level's channels and reduction (stride). The
  file's ``backbone.*`` tensors are loaded; anything else it holds (the classifier, a
  detector's neck and heads) is left out.
* **classifier** (the default): :class:`Classifier`, the same model as the variant's
  mmpretrain in1k config (``ImageClassifier``): the backbone's last level, the family's
  classifier neck (FishNet's score layers; a global average pool for the others) and a linear
  layer ``head.fc``. The file's classifier (the released ``fc``) is loaded with everything
  else, strictly. With ``num_classes`` other than the file's, ``head.fc`` is new (PyTorch's
  default initialisation) and the rest is loaded strictly: fine-tuning on another label set.
  A file without a classifier (a backbone-only file, a toolbox's detector, segmenter or pose
  model) gives no classifier: ``num_classes`` must then be given, and for a toolbox's model
  only ``features_only=True`` is offered (its neck is not a classifier's).

Strictly: every key of the module must be in the file with its shape, and no other key of the
part loaded may be there; otherwise :class:`~mmfish.checkpoint.CheckpointMismatchError` names
them and nothing is loaded.
"""
import logging
from contextlib import contextmanager
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger

from ..checkpoint.io import CheckpointError, load_checkpoint
from ..core.family import family_named
from ..core.pretrained import check_state_dict
from ..suggest import closest
from ..variants import EXTRA_BACKBONES, TRAINED, VARIANTS

__all__ = ['Classifier', 'FeatureInfo', 'Features', 'create_model', 'model_names']

SCHEME = 'mmfish://'
#: the pyramid level a classifier reads (stride 32)
LAST_LEVEL = 3


class FeatureInfo(list):
    """The pyramid levels a model returns: one ``dict(num_chs=..., reduction=..., module=...)``
    each, in order, as timm's ``feature_info``.

    Example:
        >>> info = FeatureInfo([dict(num_chs=64, reduction=4, module='layer1')])
        >>> info.channels(), info.reduction(), info.module_name()
        ([64], [4], ['layer1'])
    """

    def channels(self) -> List[int]:
        """The channels of each level."""
        return [level['num_chs'] for level in self]

    def reduction(self) -> List[int]:
        """The stride of each level relative to the input."""
        return [level['reduction'] for level in self]

    def module_name(self) -> List[str]:
        """The backbone's module that gives each level."""
        return [level['module'] for level in self]


class Features(nn.Module):
    """An mmfish backbone that returns a list of pyramid levels (timm's ``features_only``).

    Args:
        backbone (nn.Module): An mmfish backbone (``mmfish.FishNet``, ``mmfish.ResNeSt``, ...);
            its ``out_indices`` are the levels returned.

    Example:
        >>> import torch, mmfish
        >>> model = mmfish.create_model('resnest14d', pretrained=False, features_only=True,
        ...                             out_indices=(2, 3))
        >>> [tuple(f.shape) for f in model(torch.rand(2, 3, 64, 64))]
        [(2, 1024, 4, 4), (2, 2048, 2, 2)]
        >>> model.feature_info.reduction()
        [16, 32]
    """

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.feature_info = FeatureInfo(dict(backbone.feature_info[i])
                                        for i in backbone.out_indices)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return list(self.backbone(x))


class Classifier(nn.Module):
    """An ImageNet-style classifier: an mmfish backbone's last level, a neck (None: global
    average pool) and a linear layer ``head.fc``, with the keys of an mmpretrain
    ``ImageClassifier`` (``backbone.*``, ``neck.*``, ``head.fc.*``).

    Args:
        backbone (nn.Module): An mmfish backbone returning its last level (``out_indices=(3, )``).
        neck (nn.Module, optional): Maps the last level to pooled ``(N, in_features)``
            features. Defaults to None: a global average pool.
        in_features (int): The features the linear layer takes.
        num_classes (int): The classes it predicts.

    Example:
        >>> import torch, mmfish
        >>> model = mmfish.create_model('resnest14d', pretrained=False, num_classes=10).eval()
        >>> tuple(model(torch.rand(2, 3, 64, 64)).shape)
        (2, 10)
    """

    def __init__(self, backbone: nn.Module, neck: Optional[nn.Module], in_features: int,
                 num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.head = nn.ModuleDict(dict(fc=nn.Linear(in_features, num_classes)))
        self.num_classes = num_classes
        self.feature_info = FeatureInfo(dict(level) for level in backbone.feature_info)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features ``(N, in_features)`` that the linear layer classifies."""
        last = self.backbone(x)[-1]
        return self.neck(last) if self.neck is not None else \
            F.adaptive_avg_pool2d(last, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head['fc'](self.forward_features(x))


def model_names(pretrained: bool = False) -> List[str]:
    """The names :func:`create_model` takes: the published variants and the registered
    backbones without released weights, then the toolboxes' trained models
    (``<toolbox>/<model>``). ``pretrained=True``: only those with weights.

    Example:
        >>> import mmfish
        >>> 'resnest50' in mmfish.apis.model_names(pretrained=True)
        True
    """
    names = [n for n, v in VARIANTS.items() if v.files or not pretrained]
    names += [] if pretrained else list(EXTRA_BACKBONES)
    return names + list(TRAINED)


def _unknown(name: str) -> ValueError:
    valid = list(VARIANTS) + list(EXTRA_BACKBONES)
    close = closest(name, valid + list(TRAINED))
    return ValueError(
        f'unknown model {name!r}' + (f' (did you mean {close!r}?)' if close else '')
        + f'; valid names: {", ".join(valid)}, and the toolboxes\' trained models, '
        f'<toolbox>/<model> (docs/models.md lists them), e.g. {next(iter(TRAINED))}; each may '
        f'be written {SCHEME}<name>')


def _check_arguments(name, pretrained, features_only, out_indices, num_classes, kwargs):
    if not isinstance(name, str):
        raise TypeError(f'name must be a model name (str), e.g. \'resnest50\', got {name!r}')
    for arg, value in (('pretrained', pretrained), ('features_only', features_only)):
        if not isinstance(value, bool):
            raise TypeError(f'{arg} must be True or False, got {value!r}')
    if out_indices is not None and not features_only:
        raise ValueError(f'out_indices={out_indices!r} applies to features_only=True; a '
                         f'classifier reads the last level ({LAST_LEVEL})')
    if num_classes is not None:
        if features_only:
            raise ValueError(f'num_classes={num_classes!r} applies to a classifier; '
                             f'features_only=True returns the pyramid levels, without one')
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or \
                num_classes < 1:
            raise ValueError(f'num_classes must be a positive int (1000 for ImageNet-1k), '
                             f'got {num_classes!r}')
    taken = sorted({'type', 'init_cfg'} & set(kwargs))
    if taken:
        raise ValueError(f'{", ".join(taken)} cannot be given: the name sets the type, and '
                         f'pretrained the initialisation')


def _row(name: str, pretrained: bool):
    """``(name, backbone config or None, trained?)`` of ``name``; None: the converted file's
    meta gives the backbone."""
    name = name[len(SCHEME):] if name.startswith(SCHEME) else name
    if name in TRAINED:
        if not pretrained:
            raise ValueError(f'{name} is a toolbox\'s trained model: pretrained=False has '
                             f'nothing of it to build; build a published variant by its '
                             f'name (e.g. {next(iter(VARIANTS))}) or set pretrained=True')
        return name, None, True
    if name in VARIANTS or name in EXTRA_BACKBONES:
        cfg = VARIANTS[name].backbone if name in VARIANTS else EXTRA_BACKBONES[name]
        if pretrained and not (name in VARIANTS and VARIANTS[name].files):
            with_weights = [n for n, v in VARIANTS.items() if v.files]
            same = [n for n in with_weights if VARIANTS[n].backbone == cfg]
            raise ValueError(f'{name} has no released weights: build it untrained with '
                             f'pretrained=False, or pick a name with weights'
                             + (f' (of the same architecture: {", ".join(same)})' if same
                                else '') + f': {", ".join(with_weights)}')
        return name, dict(cfg), False
    raise _unknown(name)


def _backbone(cfg: dict, out_indices: Sequence[int], kwargs: dict, name: str,
              pretrained: bool) -> nn.Module:
    cfg = dict(cfg)
    family = family_named(cfg.pop('type').split('.')[-1])
    fixed = sorted(k for k in kwargs if k in cfg and kwargs[k] != cfg[k])
    if pretrained and fixed:
        raise ValueError(f'{", ".join(f"{k}={kwargs[k]!r}" for k in fixed)}: the weights of '
                         f'{SCHEME}{name} fix {", ".join(f"{k}={cfg[k]!r}" for k in fixed)}; '
                         f'leave {"it" if len(fixed) == 1 else "them"} out, or set '
                         f'pretrained=False')
    return family, family.model(**dict(cfg, **kwargs), out_indices=tuple(out_indices))


@contextmanager
def _quiet():
    """MMEngine's initialisation without its per-parameter report (written to a run's log,
    or else printed: hundreds of lines)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _init(*modules) -> None:
    """mmfish's initialisation of the modules (the backbone's, the neck's)."""
    with _quiet():
        for module in modules:
            if module is not None and hasattr(module, 'init_weights'):
                module.init_weights()


def _load(module: nn.Module, state: dict, source: str) -> None:
    """Load ``state`` into ``module`` strictly: every key, every shape, nothing else."""
    check_state_dict(module, state, source)
    module.load_state_dict(state, strict=True)


def create_model(name: str, pretrained: bool = True, features_only: bool = False,
                 out_indices: Optional[Sequence[int]] = None,
                 num_classes: Optional[int] = None, **kwargs) -> nn.Module:
    """A released model as a plain ``torch.nn.Module``: a classifier, or with
    ``features_only=True`` the backbone's pyramid levels (see the module's docstring).

    Args:
        name (str): A published variant (``'resnest50'``, ``'fishnet150'``,
            ``'fishnet150-welltrained'``; :data:`mmfish.variants.VARIANTS`), a registered
            backbone without weights (``'fishnext150-32x4d'``, only with ``pretrained=False``),
            or a toolbox's trained model (``'mmdet/<model>'``, only with ``pretrained=True``);
            ``mmfish://`` before it is allowed. :func:`model_names` lists them.
        pretrained (bool): Load the weights of ``mmfish://<name>`` (fetched, verified,
            converted and cached on first use), strictly. Defaults to True. False: mmfish's
            initialisation, nothing downloaded.
        features_only (bool): Return :class:`Features` (a list of pyramid levels) instead of
            a :class:`Classifier`. Defaults to False.
        out_indices (Sequence[int], optional): The levels :class:`Features` returns, from 0
            (stride 4) to 3 (stride 32), increasing. Defaults to None: all four.
        num_classes (int, optional): The classifier's classes. Defaults to None: the file's
            (1000 for the ImageNet weights), or 1000 with ``pretrained=False``. Another number
            gives a new ``head.fc``.
        **kwargs: Further arguments of the backbone (``frozen_stages``, ``norm_eval``,
            ``with_cp``, ``channels_last``, ...); with ``pretrained=True`` not those the
            weights fix (``depth``, widths).

    Returns:
        nn.Module: :class:`Classifier` or :class:`Features`, in training mode (call
        ``.eval()`` for inference).

    Example:
        >>> import torch, mmfish
        >>> model = mmfish.create_model('fishnet99', pretrained=False, features_only=True)
        >>> [tuple(f.shape) for f in model(torch.rand(1, 3, 64, 64))]
        [(1, 320, 16, 16), (1, 832, 8, 8), (1, 1600, 4, 4), (1, 2112, 2, 2)]
        >>> model.feature_info.channels(), model.feature_info.reduction()
        ([320, 832, 1600, 2112], [4, 8, 16, 32])
    """
    _check_arguments(name, pretrained, features_only, out_indices, num_classes, kwargs)
    name, cfg, trained = _row(name, pretrained)
    state, meta, source = {}, {}, None
    if pretrained:
        from ..weights.hub import resolve
        source = resolve(SCHEME + name)
        ckpt = load_checkpoint(source, CheckpointError)
        state = ckpt['state_dict']
        meta = ckpt.get('meta', {}).get('mmfish', {})
        cfg = cfg or dict(meta['backbone'])
    levels = tuple(out_indices) if out_indices is not None else (0, 1, 2, LAST_LEVEL)
    if features_only:
        family, backbone = _backbone(cfg, levels, kwargs, name, pretrained)
        model = Features(backbone)
        if not pretrained:
            _init(backbone)
            return model
        _load(backbone, {k[len('backbone.'):]: v for k, v in state.items()
                         if k.startswith('backbone.')}, source)
        return model
    if trained and meta.get('parts'):
        raise ValueError(f'{SCHEME}{name} is a {name.split("/")[0]} model ('
                         f'{", ".join(meta["parts"])} on the backbone), not a classifier: '
                         f'use features_only=True for its backbone')
    file_classes = meta.get('num_classes')
    if pretrained and file_classes is None and num_classes is None:
        raise ValueError(f'{SCHEME}{name}: the file holds no classifier (no fc): give '
                         f'num_classes=N for a new head on its backbone, or use '
                         f'features_only=True')
    classes = num_classes or file_classes or 1000
    family, backbone = _backbone(cfg, (LAST_LEVEL, ), kwargs, name, pretrained)
    neck, in_features = family.classifier(backbone)
    model = Classifier(backbone, neck, in_features, classes)
    if not pretrained:
        _init(backbone, neck)
        return model
    if classes == file_classes:
        _load(model, state, source)
        return model
    # a new head: the backbone and the neck from the file, strictly
    body = nn.Module()
    body.backbone, body.neck = backbone, neck
    _load(body, {k: v for k, v in state.items() if not k.startswith('head.')}, source)
    return model
