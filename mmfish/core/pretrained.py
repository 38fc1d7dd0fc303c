"""Strict loading of pretrained backbone weights, for
``init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')``.

MMEngine loads such weights non-strictly and only logs the keys that did not fit, so a
checkpoint of another family, depth or key layout leaves a half-initialised model that trains
on silently. mmfish backbones (:meth:`BackboneBase.init_weights`) read the file themselves
(weights only, on the CPU), compare it with the model before changing anything, and raise
:class:`CheckpointMismatchError` with a readable summary and the likely cause.

The likely cause comes from the registered families (:mod:`.family`: a family's key markers
and layouts, the arguments its weights show); each family registers itself when ``mmfish`` is
imported.
"""
import os
from collections import Counter, OrderedDict
from typing import Dict, List, Optional

import torch

from ..checkpoint.diff import check_values, diff_state, is_optional
from ..checkpoint.io import (
    CheckpointError,
    CheckpointMismatchError,
    load_state_dict,
    unwrap_state_dict,
)
from ..checkpoint.keys import CONVERT_COMMAND
from . import family as _family_registry

__all__ = ['CheckpointError', 'CheckpointMismatchError', 'read_checkpoint', 'check_state_dict',
           'pretrained_state']

_NUM_EXAMPLES = 3


def read_checkpoint(checkpoint) -> Dict[str, torch.Tensor]:
    """All tensors of a checkpoint file (``~`` expanded, as MMEngine does) or URL, unwrapped
    as the converters do."""
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise CheckpointError(f'init_cfg Pretrained needs checkpoint=PATH (a file or URL), '
                              f'got checkpoint={checkpoint!r}: e.g. init_cfg=dict('
                              f"type='Pretrained', checkpoint=PATH, prefix='backbone.')")
    checkpoint = str(checkpoint)
    local = os.path.expanduser(checkpoint)
    if '://' in checkpoint and not os.path.exists(local):
        # http(s)://, open-mmlab://, torchvision://, s3://, ...: MMEngine's loaders fetch it
        from mmengine.runner.checkpoint import CheckpointLoader
        loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
        return unwrap_state_dict(loaded, checkpoint, CheckpointError)[0]
    return load_state_dict(local, error=CheckpointError)[0]


def _strip(state, prefix: str) -> Dict[str, torch.Tensor]:
    return OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))


def _groups(keys: List[str], limit: int = 6) -> str:
    """``layer4.* (52 keys), fc.* (2 keys)``: keys counted by their top module."""
    counts = Counter(k.split('.', 1)[0] for k in keys)
    parts = [f'{top}.* ({n} key{"s" if n > 1 else ""})' for top, n in counts.items()]
    return ', '.join(parts[:limit]) + (f', ... ({len(parts)} modules)' if len(parts) > limit
                                       else '')


def _families():
    """The registry of families (:mod:`mmfish.core.family`: ``family_of``, ``guess_family``,
    ...), which :mod:`mmfish.weights.load_report` asks too."""
    return _family_registry


def _actual(module, cfg: dict) -> dict:
    """The module's own values of the detected arguments, where it keeps them (detection
    rounds ``base_width`` to what the weights' shapes show)."""
    kept = dict(getattr(module, 'block_kwargs', {}))
    kept.update({k: getattr(module, k) for k in cfg if isinstance(getattr(module, k, None),
                                                                   (int, bool))})
    return {k: kept.get(k, v) for k, v in cfg.items()}


def _model_name(module, cfg: Optional[dict]) -> str:
    """``ResNeSt(depth=50, ...)``: the module's class and the arguments its weights show."""
    if not cfg:
        return type(module).__name__
    args = _actual(module, cfg)
    return f'{type(module).__name__}({", ".join(f"{k}={v}" for k, v in args.items())})'


def _fits(keys, expected) -> bool:
    return {k for k in keys if not is_optional(k)} == {k for k in expected if not is_optional(k)}


def _likely_causes(families, family, module, state, whole, missing, unexpected, shapes, prefix,
                   expected, model_cfg) -> List[str]:
    own = family.name if family else type(module).__name__
    # weights of another family
    other = families.guess_family(unexpected)
    if other == 'ResNet':
        return [f'this is a plain ResNet/ResNeXt checkpoint, not a {own} one: load it into '
                f"the toolbox's own ResNet, or load a {own} checkpoint"]
    if other and other != own:
        examples = families.family_examples(unexpected, other)
        return [f'this is a {other} checkpoint (keys such as {", ".join(examples[:2])}), not '
                f'a {own} one, or it was converted for the wrong family: build a '
                f"type='mmfish.{other}' backbone for it (the converter prints its config), or "
                f'load a {own} checkpoint']
    causes = []
    # a whole classifier, detector or segmentor: the backbone's keys sit under a prefix
    if missing and unexpected:
        for top in dict.fromkeys(k.split('.', 1)[0] for k in unexpected if '.' in k):
            inner = {k[len(top) + 1:] for k in unexpected if k.startswith(top + '.')}
            if len(inner & set(missing)) >= max(1, len(missing) // 2):
                wanted = f'{prefix or ""}{top}.'
                what = ('a classifier/detector/segmentor checkpoint' if top == 'backbone' else
                        f"a checkpoint whose backbone keys start with '{wanted}'")
                causes.append(f"{what}: set prefix='{wanted}' in init_cfg")
                break
    # an un-converted checkpoint: official, timm or another toolbox's key layout
    converted, layout = (family.backbone_state(whole) if family else None) or (None, None)
    if converted and set(converted) not in (set(_strip(whole, 'backbone.')), set(state)):
        causes.append(f'an un-converted checkpoint ({layout} key layout): convert it first with '
                      f'{CONVERT_COMMAND} SRC DST (or python tools/model_converters/'
                      f"{family.key}2mmfish.py SRC DST) and load DST with prefix='backbone.'")
        state = converted
    # the same family with another depth or width
    ckpt_cfg = family.arguments(state) if family else None
    if ckpt_cfg and model_cfg and ckpt_cfg != model_cfg:
        diff = [k for k in dict.fromkeys([*ckpt_cfg, *model_cfg])
                if ckpt_cfg.get(k) != model_cfg.get(k)]
        causes.append(f'the checkpoint is a {own} with '
                      + ', '.join(f'{k}={ckpt_cfg.get(k)}' for k in diff)
                      + ', the model has '
                      + ', '.join(f'{k}={_actual(module, model_cfg).get(k)}' for k in diff)
                      + ": build the backbone with the checkpoint's arguments")
    # BatchNorm layers on one side only
    ckpt_bn = any(k.endswith('.running_mean') for k in state)
    model_bn = any(k.endswith('.running_mean') for k in expected)
    if ckpt_bn != model_bn:
        causes.append('the checkpoint has BatchNorm layers (running statistics) and the model '
                      'has none: it was trained with BN or SyncBN, the model uses another '
                      'norm_cfg (e.g. GN)' if ckpt_bn else
                      'the model has BatchNorm layers and the checkpoint has none: it was '
                      'trained with another norm_cfg (e.g. GN); build the model with it')
    return causes


def check_state_dict(module: torch.nn.Module, state: Dict[str, torch.Tensor], source: str,
                     whole: Optional[Dict[str, torch.Tensor]] = None,
                     prefix: Optional[str] = None) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state`` has exactly the keys and shapes
    of ``module.state_dict()`` (BatchNorm's ``num_batches_tracked`` counters may be absent).

    ``whole`` is the checkpoint before ``prefix`` was applied; it helps name the cause.
    """
    expected = module.state_dict()
    diff = diff_state(state, expected, optional=is_optional)
    missing, unexpected = diff.missing, diff.unexpected
    shapes = [k for k, _, _ in diff.shapes]
    if not diff:
        return
    families = _families()
    family = families.family_of(module)
    model_cfg = family.arguments(expected) if family else None
    lines = [f'{source} does not fit {_model_name(module, model_cfg)}: nothing was loaded.']
    if missing:
        lines.append(f'  {len(missing)} of the model\'s keys are missing from the checkpoint: '
                     f'{_groups(missing)}; e.g. {", ".join(missing[:_NUM_EXAMPLES])}')
    if unexpected:
        lines.append(f'  {len(unexpected)} keys of the checkpoint are not in the model: '
                     f'{_groups(unexpected)}; e.g. {", ".join(unexpected[:_NUM_EXAMPLES])}')
    if shapes:
        examples = ', '.join(f'{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}'
                             for k in shapes[:_NUM_EXAMPLES])
        what = 'tensor has' if len(shapes) == 1 else 'tensors have'
        lines.append(f'  {len(shapes)} {what} another shape (checkpoint vs model): '
                     f'{_groups(shapes)}; e.g. {examples}')
    causes = _likely_causes(families, family, module, state,
                            whole if whole is not None else state, missing, unexpected, shapes,
                            prefix, expected, model_cfg)
    lines += [f'Likely cause: {c}.' for c in causes] or [
        'Likely cause: the checkpoint was made for another configuration of the model.']
    raise CheckpointMismatchError('\n'.join(lines))


def pretrained_state(module: torch.nn.Module, checkpoint,
                     prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Read ``checkpoint``, keep the keys under ``prefix`` (stripped), as MMEngine's
    ``PretrainedInit`` does, and check them against ``module``: the state dict to load with
    ``module.load_state_dict(state, strict=True)``."""
    whole = read_checkpoint(checkpoint)
    state = whole
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        state = _strip(whole, prefix)
        if not state and prefix.startswith('module.'):  # DataParallel's, already removed
            state = _strip(whole, prefix[len('module.'):])
        if not state:
            expected = module.state_dict()
            tops = [t for t in dict.fromkeys(k.split('.', 1)[0] for k in whole)
                    if _fits(_strip(whole, t + '.'), expected)]
            hint = f'its keys start with {_groups(list(whole))}'
            if _fits(whole, expected):
                hint = 'it is a backbone-only checkpoint: remove prefix from init_cfg'
            elif tops:
                hint += f": set prefix='{tops[0]}.'"
            raise CheckpointMismatchError(f"{checkpoint}: no key starts with prefix='{prefix}'; "
                                          f'{hint}. Nothing was loaded.')
    check_state_dict(module, state, str(checkpoint), whole, prefix)
    expected = module.state_dict()
    check_values(state, f'{checkpoint}: nothing was loaded', CheckpointMismatchError,
                 expected=expected)
    state = OrderedDict(state)
    for key, value in expected.items():  # counters the checkpoint may lack keep their value
        if is_optional(key) and key not in state:
            state[key] = value
    return state
