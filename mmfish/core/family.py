"""A backbone family: what the generic code (the converters, the strict ``Pretrained``
loading, the toolbox translation, the memory-format policy, the tables) asks about one family,
declared once in the family's package and registered there::

    RESNEST = register_family(Family(name='ResNeSt', model=ResNeSt, layouts=..., ...))

:data:`FAMILIES` holds the registered families by converter name (``--family``); each package
under :mod:`mmfish.families` registers its family when ``mmfish`` is imported.
"""
import inspect
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..checkpoint.io import ConversionError
from ..checkpoint.keys import CONVERT_COMMAND, backbone_keys, plain_resnet_keys
from .checks import init_parameters
from .release import Benchmarked, TrainedModel, Variant

__all__ = ['Family', 'FAMILIES', 'register_family', 'unregister_family', 'family_of',
           'family_named', 'guess_family', 'family_examples', 'converter_hint', 'init_defaults',
           'minimal', 'family_variants', 'family_trained_models', 'converted_families',
           'watch_registrations']

State = Dict[str, torch.Tensor]
#: ``to_mmfish_keys``'s result: the state with mmfish keys, its layout, the keys left out
Renamed = Tuple[State, str, List[str]]


def _no_layers(state: State, source: str) -> List[dict]:
    return []


def _nothing(type_name: str, args: dict) -> Dict[str, Tuple[Any, str]]:
    return {}


def _any_config(cfg: dict, source: str, released: Sequence[Variant]) -> None:
    return None


def _as_given(cfg: dict, toolbox: str, base_channels: int) -> None:
    return None


@dataclass(frozen=True, eq=False)
class Family:
    """One backbone family's checkpoints.

    The functions take and return state dicts with mmfish keys (``backbone.*``, ``neck.*``,
    ``head.fc.*``), except ``to_mmfish_keys`` and ``filled_layers``, which read the file's.
    """
    #: the backbone's registered type (``'ResNeSt'``); ``--family`` takes it in lower case
    name: str
    #: the backbone class a converted checkpoint builds (subclasses belong to the family too)
    model: type
    #: the key layouts ``to_mmfish_keys`` reads, in words
    layouts: Tuple[str, ...]
    #: key fragments that only this family's backbones have (to tell a checkpoint's family)
    markers: Tuple[str, ...]
    #: ``(state, source) -> (state, layout, keys left out)``: the file's keys renamed
    to_mmfish_keys: Callable[[State, str], Renamed]
    #: ``(state, source, layout, dcn_type) -> backbone arguments`` the weights' shapes give
    detect: Callable[[State, str, Optional[str], Optional[str]], dict]
    #: backbone arguments the weights cannot show, decided by :func:`.decide.decide`
    hidden: Tuple[str, ...] = ()
    #: the values of the hidden arguments that are not booleans (``--split-style VALUE``);
    #: the others are booleans (``--avd-first`` / ``--no-avd-first``)
    hidden_choices: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    #: whether its weights can hold mmdet's deformable convolutions and plugin layers (their
    #: keys show them; ``detect``'s ``dcn_type`` picks the type where both fit: ``--dcn-type``)
    dcn: bool = False
    #: the arguments ``detect`` leaves out at their defaults, for comparing with a model
    detect_defaults: Dict[str, Any] = field(default_factory=dict)
    #: ``channels -> (module, output channels)``: the official classifier's neck on the last
    #: level (``feature_info[-1]``); None: a global average pool (no weights) before the fc
    classifier_neck: Optional[Callable[[int], Tuple[nn.Module, int]]] = None
    #: ``(type, config arguments) -> {hidden argument: (value, how)}``: the hidden arguments
    #: as a toolbox config's backbone ``dict`` states them (read as text, never executed);
    #: ``type`` is scoped (``'mmdet.Res2Net'``) where the config or the file names its toolbox
    from_config: Callable[[str, dict], Dict[str, Tuple[Any, str]]] = _nothing
    #: ``(state, source) -> [dict(module, value, why)]``: the layers the file lacks that
    #: ``to_mmfish_keys`` fills in (where that computes the same function)
    filled_layers: Callable[[State, str], List[dict]] = _no_layers
    #: ``(cfg, source, released variants)``: refuses a config no released variant has where
    #: it is implausible (a ConversionError saying why)
    check_custom: Callable[[dict, str, Sequence[Variant]], None] = _any_config
    #: names of families whose markers this family's keys show too (Res2NetDLA's blocks are
    #: Res2Net blocks): where both are shown, this family is the one
    contains: Tuple[str, ...] = ()

    # -- the rows of the tables: released files, trained models, papers ---------------------
    #: the published variants and their released files (:class:`~.release.Variant`)
    released: Tuple[Variant, ...] = ()
    #: the models the toolboxes trained with this backbone (:class:`~.release.TrainedModel`)
    trained: Tuple[TrainedModel, ...] = ()
    #: registered backbones without released weights, shown beside the published variants
    extra_backbones: Dict[str, dict] = field(default_factory=dict)
    #: the models ``tools/benchmark.py`` times against other implementations of them
    benchmarked: Tuple[Benchmarked, ...] = ()
    #: the family's paper as OpenMMLab's metafiles cite it: ``dict(Name=..., Paper=dict(
    #: Title=..., URL=...), Architecture=[...])`` (the model index's collection)
    collection: Optional[dict] = None

    # -- what the generic code asks of the model -------------------------------------------
    #: where NCHW was measured faster than channels-last (docs/benchmarks.md):
    #: ``(device type, CPU vector ISA or None, training)``; channels-last everywhere else
    nchw_faster: Tuple[Tuple[str, Optional[str], bool], ...] = ()
    #: the toolboxes that have a backbone of this name, whose configs
    #: :func:`mmfish.models.toolbox.from_toolbox` translates
    toolboxes: Tuple[str, ...] = ()
    #: ``(cfg, toolbox, base_channels)``: the family's part of that translation, in place
    #: (after the shared defaults are written out)
    toolbox_args: Callable[[dict, str, int], None] = _as_given
    #: a small configuration of the backbone (arguments without ``type``), for tests and
    #: examples that build each family quickly
    small: Dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The converter's name: ``--family``, ``tools/model_converters/<key>2mmfish.py``."""
        return self.name.lower()

    def hint(self) -> str:
        """The command that converts a checkpoint of this family."""
        return (f'convert it with {CONVERT_COMMAND} SRC DST --family {self.key} (in a source '
                f'checkout also tools/model_converters/{self.key}2mmfish.py SRC DST)')

    def classifier(self, model: nn.Module) -> Tuple[Optional[nn.Module], int]:
        """The official classifier's neck on ``model`` (None: a global average pool, which
        has no weights) and its fc's input channels."""
        channels = model.feature_info[-1]['num_chs']
        return self.classifier_neck(channels) if self.classifier_neck else (None, channels)

    def arguments(self, state: State) -> Optional[dict]:
        """The backbone arguments that ``state``'s shapes give (backbone keys, unprefixed),
        with the defaults detection leaves out; None where the state does not tell."""
        try:
            cfg = self.detect({f'backbone.{k}': v for k, v in state.items()}, 'checkpoint',
                              None, None)
        except Exception:  # not enough of the model to tell
            return None
        arguments = init_defaults(self.model)
        return {**cfg, **{k: v for k, v in self.detect_defaults.items()
                          if k not in cfg and k in arguments}}

    def backbone_state(self, whole: State) -> Optional[Tuple[State, str]]:
        """``whole`` renamed to the family's backbone keys (unprefixed) and its layout, or
        None where no layout of the family fits."""
        try:
            renamed, layout, _ = self.to_mmfish_keys(OrderedDict(whole), 'checkpoint')
        except ConversionError:
            return None
        prefix = 'backbone.'
        return OrderedDict((k[len(prefix):], v) for k, v in renamed.items()
                           if k.startswith(prefix)), layout


#: the registered families by converter name (:attr:`Family.key`)
FAMILIES: Dict[str, Family] = {}
#: told ``(family, True)`` when a family is registered, ``(family, False)`` when it is
#: unregistered (:func:`watch_registrations`)
_WATCHERS: List[Callable[[Family, bool], None]] = []


def watch_registrations(watcher: Callable[[Family, bool], None]) -> None:
    """Tell ``watcher(family, registered)`` of every registration from now on, so that a table
    assembled from the families (:mod:`mmfish.variants`) stays current."""
    _WATCHERS.append(watcher)


def register_family(family: Family) -> Family:
    """Add ``family`` to :data:`FAMILIES`; a name already taken is a ValueError."""
    if family.key in FAMILIES:
        raise ValueError(f'a family named {family.key!r} is already registered')
    FAMILIES[family.key] = family
    for watcher in _WATCHERS:
        watcher(family, True)
    return family


def unregister_family(family: Family) -> None:
    """Remove ``family`` from :data:`FAMILIES`."""
    if FAMILIES.get(family.key) is family:
        del FAMILIES[family.key]
        for watcher in _WATCHERS:
            watcher(family, False)


def _by_key() -> List[Family]:
    """The registered families in the order of their converter names."""
    return [FAMILIES[k] for k in sorted(FAMILIES)]


def family_variants() -> Dict[str, Variant]:
    """Every registered family's published variants by name, families in the order of
    their converter names."""
    return {v.name: v for f in _by_key() for v in f.released}


def family_trained_models(toolboxes: Sequence[str]) -> Dict[str, TrainedModel]:
    """Every registered family's trained models by ``<toolbox>/<model>``, ordered by
    ``toolboxes``, then by family (converter name), then as the family lists them."""
    rows = [t for f in _by_key() for t in f.trained]
    return {t.name: t for t in sorted(rows, key=lambda t: toolboxes.index(t.toolbox))}


def converted_families() -> str:
    """The families whose checkpoints mmfish converts, in words (``'FishNet, Res2Net and
    ResNeSt'``): one name per family that no other family contains."""
    names = sorted(f.name for f in FAMILIES.values() if not f.contains)
    return ', '.join(names[:-1]) + f' and {names[-1]}' if len(names) > 1 else ''.join(names)


def family_of(module: nn.Module) -> Optional[Family]:
    """The family whose model ``module`` is, or None."""
    return next((f for f in FAMILIES.values() if isinstance(module, f.model)), None)


def family_named(name: Optional[str]) -> Optional[Family]:
    """The family of the backbone type ``name`` (``'ResNeSt'``), or None."""
    return next((f for f in FAMILIES.values() if f.name == name), None)


def _shown(family: Family, keys: List[str]) -> List[str]:
    return [k for k in keys if any(m in k for m in family.markers)]


def guess_family(keys) -> Optional[str]:
    """The name of the family a checkpoint's backbone keys show (its :attr:`Family.markers`),
    ``'ResNet'`` for a plain ResNet / ResNeXt (which mmfish does not convert), or None."""
    keys = backbone_keys(keys)
    shown = [f for f in FAMILIES.values() if _shown(f, keys)]
    shown = [f for f in shown if not any(f.name in other.contains for other in shown)]
    if shown:
        return shown[0].name
    return 'ResNet' if plain_resnet_keys(keys) else None


def family_examples(keys, name: str, limit: int = 3) -> List[str]:
    """Keys that show the family ``name`` (its markers; for 'ResNet', single-conv2 blocks)."""
    if name == 'ResNet':
        return plain_resnet_keys(keys)[:limit]
    return _shown(family_named(name), backbone_keys(keys))[:limit]


def converter_hint(name: str) -> str:
    """What to do with a checkpoint of the family ``name`` (a registered one, or 'ResNet')."""
    if name == 'ResNet':
        return ('it is a plain ResNet/ResNeXt checkpoint (its blocks have a single conv2, no '
                f'Res2Net splits or ResNeSt split attention): mmfish converts '
                f"{converted_families()}; load ResNet weights with the toolbox's own ResNet")
    return family_named(name).hint()


def init_defaults(cls) -> dict:
    """The default of every ``__init__`` argument of ``cls`` and its bases (the class nearest
    ``cls`` that declares an argument gives its default)."""
    return {name: p.default for name, p in init_parameters(cls.__mro__).items()
            if p.default is not inspect.Parameter.empty}


def minimal(cfg: dict, cls) -> dict:
    """``cfg`` without ``type`` and without the arguments that equal the class defaults."""
    defaults = init_defaults(cls)
    return {k: v for k, v in cfg.items()
            if k != 'type' and (k == 'depth' or defaults.get(k, object()) != v)}
