"""What ``load_from`` and ``--resume`` loaded into the model, in one line of the log, and a
stop when the backbone was not loaded whole.

MMEngine's ``Runner.load_checkpoint`` (``load_from``; ``Runner.resume`` calls it too) loads
non-strictly: keys of the model that the file lacks, or has with another shape, keep their
initial values, and MMEngine lists them in a warning among the start-up output; a file that
holds none of the model's weights loads nothing, and training starts from random weights as if
all were well.

:func:`install` (run by ``import mmfish``) wraps both methods, keeping their arguments and
return values. The loading then ends with a summary logged through the runner's logger, about
the backbone (the keys under ``backbone.``; all keys for a model without a ``backbone``)::

    load_from iter_3.pth: 320 of 322 backbone tensors loaded; 2 keep their initial values:
    backbone.layer1.0.conv1.weight, backbone.layer1.0.bn1.weight; 0 unexpected

(one line), at warning level when a weight of the backbone was not loaded. Such a partial load
then stops the run with :class:`PartialLoadError`, which names the tensors and the likely cause
(a checkpoint of another architecture, tensors of another shape, buffers the file lacks): a
backbone left partly at random values is almost always a mistake, while a head that differs
(fine-tuning on other classes) is not and loads as before. A deliberate partial ``load_from``
goes on, with the warning line, when the config sets ``load_from_partial = True``
(:data:`PARTIAL_KEY`); ``--resume`` never accepts a partial load. A file none of whose tensors
fits the model raises :class:`NoModelWeightsError` naming the file. Keys are compared as
MMEngine loads them: the model unwrapped from its DDP wrapper, the file's ``state_dict`` (or the
file itself) with ``revise_keys`` applied (``module.`` removed).
"""
import functools
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from ..checkpoint.diff import diff_state, is_optional
from ..checkpoint.io import CheckpointError
from ..core import pretrained

__all__ = ['PARTIAL_KEY', 'LoadReport', 'NoModelWeightsError', 'PartialLoadError', 'compare',
           'install']

#: how many key names a summary or an error shows
_SHOWN = 5
#: how many tensors of another shape an error shows with their shapes
_SHAPES_SHOWN = 3
#: the config key that lets ``load_from`` go on when tensors of the backbone were not loaded
PARTIAL_KEY = 'load_from_partial'


class NoModelWeightsError(CheckpointError):
    """A ``load_from`` / ``--resume`` checkpoint of which no tensor fits the model."""


class PartialLoadError(CheckpointError):
    """A ``load_from`` / ``--resume`` checkpoint that leaves tensors of the backbone at their
    initial values; the message names them, the likely cause and, for ``load_from``, the
    opt-in (:data:`PARTIAL_KEY`)."""


@dataclass
class LoadReport:
    """The model's keys that a checkpoint filled, by name, and the file's keys it has not."""
    scope: str  #: ``'backbone'``, or ``'model'`` for a model without a backbone
    prefix: str  #: the keys reported on: ``'backbone.'``, or ``''``
    total: List[str] = field(default_factory=list)  #: the model's keys in the scope
    missing: List[str] = field(default_factory=list)  #: in the scope, absent from the file
    shapes: List[str] = field(default_factory=list)  #: in the scope, with another shape
    unexpected: List[str] = field(default_factory=list)  #: the file's keys the model lacks
    model_keys: List[str] = field(default_factory=list)  #: all the model's keys
    loaded_anywhere: int = 0  #: the model's weights loaded, in or out of the scope
    #: ``{key: (shape in the file, shape in the model)}`` of the keys in ``shapes``
    other_shapes: Dict[str, Tuple[tuple, tuple]] = field(default_factory=dict)

    @property
    def kept(self) -> List[str]:
        """The keys in the scope that keep their initial values, in the model's order."""
        kept = set(self.missing + self.shapes)
        return [k for k in self.total if k in kept]

    @property
    def incomplete(self) -> bool:
        """Whether a weight in the scope was not loaded (BatchNorm counters aside)."""
        return any(not is_optional(k) for k in self.kept)

    def summary(self, what: str, filename: str) -> str:
        """The one-line summary: ``what`` (``load_from``, ``resume``) and the file's name."""
        unexpected = f'{len(self.unexpected)} unexpected' + (
            f' ({_names(self.unexpected)})' if self.unexpected else '')
        if not self.kept:
            return (f'{what} {filename}: all {len(self.total)} {self.scope} tensors loaded; '
                    f'{unexpected}')
        loaded = len(self.total) - len(self.kept)
        shapes = f' ({len(self.shapes)} with another shape in the file)' if self.shapes else ''
        return (f'{what} {filename}: {loaded} of {len(self.total)} {self.scope} tensors loaded; '
                f'{len(self.kept)} keep their initial values{shapes}: {_names(self.kept)}; '
                f'{unexpected}')


def _names(keys: List[str]) -> str:
    """The first keys, and how many more there are."""
    return ', '.join(keys[:_SHOWN]) + (f', ... ({len(keys) - _SHOWN} more)'
                                       if len(keys) > _SHOWN else '')


def file_state(checkpoint, revise_keys) -> Dict[str, object]:
    """The state dict MMEngine loads from ``checkpoint``: its ``state_dict`` (or itself), the
    keys revised by ``revise_keys`` (``[(pattern, replacement), ...]``)."""
    if not isinstance(checkpoint, Mapping):
        return {}
    state = checkpoint['state_dict'] if 'state_dict' in checkpoint else checkpoint
    if not isinstance(state, Mapping):
        return {}
    for pattern, replacement in revise_keys:
        state = {re.sub(pattern, replacement, str(k)): v for k, v in state.items()}
    return dict(state)


def compare(model: torch.nn.Module, state: Dict[str, object]) -> LoadReport:
    """What loading ``state`` non-strictly fills in ``model`` (unwrapped from DDP), reported on
    its backbone when it has one. Entries that are not tensors load nothing."""
    has_backbone = isinstance(getattr(model, 'backbone', None), torch.nn.Module)
    report = LoadReport('backbone' if has_backbone else 'model',
                        'backbone.' if has_backbone else '')
    expected = model.state_dict()
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    diff = diff_state(tensors, expected)
    shapes = {k for k, _, _ in diff.shapes}
    report.total = [k for k in expected if k.startswith(report.prefix)]
    report.missing = [k for k in report.total if k not in tensors]
    report.shapes = [k for k in report.total if k in shapes]
    report.other_shapes = {k: (file, model) for k, file, model in diff.shapes
                           if k in report.shapes}
    report.unexpected = [k for k in state if k not in expected]
    report.model_keys = list(expected)
    report.loaded_anywhere = sum(1 for k in expected if k in tensors and k not in shapes
                                 and not is_optional(k))
    return report


def refusal(report: LoadReport, state: Dict[str, object], what: str, filename: str) -> str:
    """Why ``filename`` holds no weights of the model, for :class:`NoModelWeightsError`."""
    expected = set(report.model_keys)
    head = f'{what} {filename} holds no weights of this model, so nothing was loaded'
    tensors = [k for k, v in state.items() if isinstance(v, torch.Tensor)]
    if not tensors:
        return f'{head}: it holds no tensors (its keys: {_names(list(state)) or "none"})'
    matched = [k for k in tensors if k in expected and not is_optional(k)]
    if matched:
        return (f'{head}: the {len(matched)} weights it shares with the model by name all have '
                f'another shape there (e.g. {_names(matched)}): it is a checkpoint of another '
                f'configuration of the model (depth, widths, classes)')
    hint = ''
    if report.prefix and any(report.prefix + k in expected for k in tensors):
        hint = (f"; it is a backbone-only checkpoint: load it with the backbone's init_cfg="
                f"dict(type='Pretrained', checkpoint='{filename}') instead")
    return (f'{head}: none of its {len(tensors)} tensors ({_names(tensors)}) is a weight of '
            f'the model ({_names(report.model_keys)}): it is a checkpoint of another model, or '
            f'of this one under other key names{hint}')


def _shape(shape: tuple) -> str:
    return str(tuple(shape))


def _parts(keys: List[str], depth: int) -> List[str]:
    """The modules ``depth`` names deep (``backbone.layer3``) that ``keys`` lie in, in order."""
    return list(dict.fromkeys('.'.join(k.split('.')[:depth]) for k in keys))


def family_causes(model: torch.nn.Module, state: Dict[str, object]) -> List[str]:
    """What the backbones' strict ``Pretrained`` loading would say of the file's backbone
    (another family, another depth, width or radix of the same family, norm layers on one side
    only), for a model whose backbone is one of mmfish's families; none otherwise."""
    backbone = getattr(model, 'backbone', None)
    if not isinstance(backbone, torch.nn.Module):
        return []
    families = pretrained._families()
    family = families.family_of(backbone)
    if family is None:
        return []
    sub = {k[len('backbone.'):]: v for k, v in state.items()
           if k.startswith('backbone.') and isinstance(v, torch.Tensor)}
    expected = backbone.state_dict()
    diff = diff_state(sub, expected, optional=is_optional)
    try:
        return pretrained._likely_causes(
            families, family, backbone, sub, state, diff.missing, diff.unexpected,
            [k for k, _, _ in diff.shapes], 'backbone.', expected, family.arguments(expected))
    except Exception:  # noqa: BLE001 (a hint only: weights the detection cannot read give none)
        return []


def likely_cause(report: LoadReport, model=None, state=None) -> str:
    """What the weights of the scope that were not loaded tell about the file: tensors of
    another shape (both shapes named), tensors of another architecture in their place (with
    what :func:`family_causes` says of them, given the ``model`` and the file's ``state``), one
    kind of buffer missing throughout, or part of the scope missing."""
    kept = [k for k in report.kept if not is_optional(k)]
    shapes = [k for k in kept if k in report.other_shapes]
    missing = [k for k in kept if k not in report.other_shapes]
    foreign = [k for k in report.unexpected if k.startswith(report.prefix) and
               not is_optional(k)]
    scope = report.scope
    if len(shapes) == 1 and not missing:
        key, = shapes
        in_file, in_model = report.other_shapes[key]
        return (f'{key} is {_shape(in_file)} in the file and {_shape(in_model)} in the model: '
                f'the file was saved from a model that differs in that layer')
    suffixes = {k.rsplit('.', 1)[-1] for k in missing}
    if len(missing) > 1 and not shapes and not foreign and len(suffixes) == 1:
        suffix, = suffixes
        every = [k for k in report.total if k.rsplit('.', 1)[-1] == suffix]
        amount = 'no' if len(every) == len(missing) else f'only {len(every) - len(missing)} of ' \
                                                          f'the {len(every)}'
        return (f'the file holds {amount} {suffix} tensors of the {scope}: it was saved without '
                f'them (a state dict filtered to some kinds of tensors, or from a model with '
                f'other layers there)')
    depth = report.prefix.count('.') + 1
    affected, whole = _parts(kept, depth), _parts(report.total, depth)
    where = (f' in {", ".join(affected)} (the rest of the {scope} loaded)'
             if len(affected) < len(whole) else '')
    if shapes or foreign:
        evidence = []
        if shapes:
            pairs = '; '.join(f'{k} is {_shape(report.other_shapes[k][0])} in the file, '
                              f'{_shape(report.other_shapes[k][1])} in the model'
                              for k in shapes[:_SHAPES_SHOWN])
            evidence.append(f'{len(shapes)} tensors have another shape ({pairs}'
                            + (f'; ... {len(shapes) - _SHAPES_SHOWN} more'
                               if len(shapes) > _SHAPES_SHOWN else '') + ')')
        if foreign:
            evidence.append(f'the file holds {len(foreign)} {scope} tensors the model lacks '
                            f'({_names(foreign)})')
        specific = family_causes(model, state) if model is not None and state else []
        return (f"the file's {scope} is a different architecture{where}: "
                + ' and '.join(evidence) + '; ' + ('; '.join(specific) if specific else
                'it is a checkpoint of another variant, depth, width, radix or family than '
                'the config builds: use the config that matches the checkpoint, or a '
                'checkpoint of this model'))
    return (f'the file holds only part of the {scope}{where}: it was trimmed, or saved from '
            f'part of the model')


def partial_refusal(report: LoadReport, what: str, filename: str, model=None,
                    state=None) -> str:
    """Why loading ``filename`` (its ``state``) into ``model`` stops the run, for
    :class:`PartialLoadError`."""
    kept = [k for k in report.kept if not is_optional(k)]
    head = (f'{what} {filename}: {len(kept)} of the {len(report.total)} {report.scope} '
            f'tensors were not loaded and would train from their initial (random) values: '
            f'{_names(kept)}. Likely cause: {likely_cause(report, model, state)}. ')
    if what == 'resume':
        return head + (f'--resume never accepts a partial load ({PARTIAL_KEY} applies to '
                       f'load_from only): resume from a checkpoint this configuration saved, or '
                       f'start a new run from these weights with load_from')
    return head + (f'If the partial load is deliberate, set {PARTIAL_KEY} = True in the config '
                   f'(or pass --cfg-options {PARTIAL_KEY}=True): the run then goes on, with '
                   f'these tensors at their initial values named in a warning')


def partial_allowed(runner) -> bool:
    """The config's :data:`PARTIAL_KEY` (False when absent); anything but a bool raises
    :class:`~mmfish.checkpoint.io.CheckpointError`."""
    cfg = getattr(runner, 'cfg', None)
    value = cfg.get(PARTIAL_KEY, False) if callable(getattr(cfg, 'get', None)) else False
    if not isinstance(value, bool):
        raise CheckpointError(f'{PARTIAL_KEY}={value!r} in the config: give True (let '
                              f'load_from leave tensors of the backbone at their initial '
                              f'values) or False (stop the run then, the default)')
    return value


def report_loading(runner, checkpoint, filename: str, revise_keys, what: str) -> LoadReport:
    """Log the summary of loading ``checkpoint`` into ``runner.model``; raise
    :class:`NoModelWeightsError` when none of its tensors fits the model, and
    :class:`PartialLoadError` when a weight of the backbone was not loaded (for ``load_from``,
    unless the config sets :data:`PARTIAL_KEY`)."""
    allowed = partial_allowed(runner) and what != 'resume'
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    state = file_state(checkpoint, revise_keys)
    report = compare(model, state)
    if report.model_keys and not report.loaded_anywhere:
        raise NoModelWeightsError(refusal(report, state, what, filename))
    line = report.summary(what, filename)
    (runner.logger.warning if report.incomplete else runner.logger.info)(line)
    if report.incomplete and not allowed:
        raise PartialLoadError(partial_refusal(report, what, filename, model, state))
    return report


def _bound(method, *args, **kwargs) -> inspect.BoundArguments:
    """The arguments of a call of ``method``, defaults included, by name."""
    bound = inspect.signature(method).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound


def _wrap_load_checkpoint(load_checkpoint):
    """``Runner.load_checkpoint`` that ends with :func:`report_loading`."""

    @functools.wraps(load_checkpoint)
    def wrapper(self, *args, **kwargs):
        checkpoint = load_checkpoint(self, *args, **kwargs)
        bound = _bound(load_checkpoint, self, *args, **kwargs).arguments
        what = getattr(self, '_mmfish_loading', None) or 'load_from'
        report_loading(self, checkpoint, str(bound['filename']), bound['revise_keys'], what)
        return checkpoint

    wrapper._mmfish_load_report = True
    return wrapper


def _wrap_resume(resume):
    """``Runner.resume``, whose loading is reported as ``resume``."""

    @functools.wraps(resume)
    def wrapper(self, *args, **kwargs):
        self._mmfish_loading = 'resume'
        try:
            return resume(self, *args, **kwargs)
        finally:
            self._mmfish_loading = None

    wrapper._mmfish_load_report = True
    return wrapper


def install() -> None:
    """Wrap ``Runner.load_checkpoint`` and ``Runner.resume`` (once; a second call changes
    nothing)."""
    for name, wrap in (('load_checkpoint', _wrap_load_checkpoint), ('resume', _wrap_resume)):
        method = getattr(Runner, name)
        if not getattr(method, '_mmfish_load_report', False):
            setattr(Runner, name, wrap(method))
