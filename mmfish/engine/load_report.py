"""What ``load_from`` and ``--resume`` loaded into the model, in one line of the log.

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

(one line), at warning level when a weight of the backbone was not loaded, and a file none of
whose tensors fits the model raises :class:`NoModelWeightsError` naming the file. Keys are
compared as MMEngine loads them: the model unwrapped from its DDP wrapper, the file's
``state_dict`` (or the file itself) with ``revise_keys`` applied (``module.`` removed).
"""
import functools
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Dict, List

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from ..checkpoint.diff import diff_state, is_optional
from ..checkpoint.io import CheckpointError

__all__ = ['LoadReport', 'NoModelWeightsError', 'compare', 'install']

#: how many key names a summary or an error shows
_SHOWN = 5


class NoModelWeightsError(CheckpointError):
    """A ``load_from`` / ``--resume`` checkpoint of which no tensor fits the model."""


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


def report_loading(runner, checkpoint, filename: str, revise_keys, what: str) -> LoadReport:
    """Log the summary of loading ``checkpoint`` into ``runner.model``; raise
    :class:`NoModelWeightsError` when none of its tensors fits the model."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    state = file_state(checkpoint, revise_keys)
    report = compare(model, state)
    if report.model_keys and not report.loaded_anywhere:
        raise NoModelWeightsError(refusal(report, state, what, filename))
    line = report.summary(what, filename)
    (runner.logger.warning if report.incomplete else runner.logger.info)(line)
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


install()
