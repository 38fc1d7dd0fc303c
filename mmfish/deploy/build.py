"""The model a config describes, built as MMEngine's Runner builds it for export: the
exportable model types and their task (:data:`TASKS`), the config read with its options, the
model built in its toolbox's registry, and its weights read from any checkpoint mmfish reads
and loaded strictly."""
import copy
import os
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from ..checkpoint.diff import check_fits
from ..checkpoint.io import CheckpointError

__all__ = ['TASKS', 'DYNAMIC_BY_DEFAULT', 'PARTS', 'UnsupportedConfig', 'build_model',
           'copy_config', 'load_model', 'model_config', 'model_task', 'read_config',
           'read_weights']


#: the model types exported, by toolbox scope and type name, and their task
TASKS = {
    ('mmpretrain', 'ImageClassifier'): 'classifier',
    ('mmseg', 'EncoderDecoder'): 'segmenter',
    ('mmpose', 'TopdownPoseEstimator'): 'pose',
    ('mmdet', 'MaskRCNN'): 'detector',
    ('mmdet', 'FasterRCNN'): 'detector',
    ('mmdet', 'CascadeRCNN'): 'detector',
}
#: the tasks whose height and width are dynamic unless asked otherwise (a detector whole)
DYNAMIC_BY_DEFAULT = ('segmenter', 'detector')
#: what :func:`wrap` exports of a model: ``default`` (the whole model) or, of a detector,
#: ``rpn`` (its backbone, neck and RPN head)
PARTS = ('default', 'rpn')


class UnsupportedConfig(ValueError):
    """A config whose model :func:`export_whole` cannot export; the message names the
    supported ones."""


def _supported() -> str:
    return ', '.join(f'{scope} {name}' for scope, name in TASKS)


def model_task(cfg) -> Tuple[str, str]:
    """``(scope, task)`` of an MMEngine config's model: the toolbox (the model type's scope,
    else the config's ``default_scope``) and one of ``classifier``, ``segmenter``, ``pose``,
    ``detector``. Other models raise :class:`UnsupportedConfig`."""
    model = cfg.get('model')
    if not isinstance(model, dict) or not isinstance(model.get('type'), str):
        raise UnsupportedConfig('the config has no model with a type name: give an '
                                f'OpenMMLab config whose model is one of: {_supported()}')
    scope, _, name = model['type'].rpartition('.')
    scope = scope or model.get('_scope_') or cfg.get('default_scope')
    task = TASKS.get((scope, name))
    if task is None:
        raise UnsupportedConfig(f'cannot export a {scope or "(unscoped)"} {name}: the '
                                f'exportable models are {_supported()}')
    return scope, task


def model_config(cfg) -> dict:
    """The model config that MMEngine's Runner builds from ``cfg``: ``cfg.model`` (a copy)
    with the config's top-level ``data_preprocessor`` merged in where the model has none of
    its own, as ``Runner.from_cfg`` and ``Runner.__init__`` do
    (``model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))``; mmpretrain's
    ``init_model`` does the same). mmpretrain's configs keep the preprocessor (channel flip,
    mean and standard deviation) at the top level; mmdet's, mmseg's and mmpose's inside the
    model, where the merge leaves it as it is."""
    model = copy.deepcopy(cfg.model)
    preprocessor = cfg.get('data_preprocessor')
    if isinstance(model, dict) and preprocessor is not None:
        model.setdefault('data_preprocessor', copy.deepcopy(preprocessor))
    return model


def build_model(cfg) -> nn.Module:
    """The model of config ``cfg`` built as MMEngine's Runner builds it for a test run on
    one process: :func:`model_config` built in the registry of the model's toolbox (its
    type's scope, else the config's ``default_scope``), SyncBN turned into BN (the Runner's
    ``wrap_model`` without a distributed launcher), in eval mode. Models that are not
    exportable raise :class:`UnsupportedConfig` before anything is built."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, DefaultScope
    scope, _ = model_task(cfg)
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_config(cfg))
    return revert_sync_batchnorm(model).eval()


def read_weights(checkpoint) -> Dict[str, torch.Tensor]:
    """The state dict of ``checkpoint``: a checkpoint file (any format
    :func:`mmfish.checkpoint.io.load_state_dict` reads), an ``mmfish://`` name (fetched and
    converted on first use, :func:`mmfish.hub.resolve`), or another name MMEngine's loaders
    read (``open-mmlab://``, ``http(s)://``, ...). A folder, a missing file or an unreadable
    one raises :class:`CheckpointError` (a ValueError) naming it."""
    from ..apis.inputs import resolve_checkpoint
    from ..checkpoint.io import first_line
    from ..core.pretrained import read_checkpoint
    try:
        path = resolve_checkpoint(checkpoint)
    except FileNotFoundError as exc:
        raise CheckpointError(str(exc)) from None
    try:  # a file, or a name MMEngine's loaders fetch, read as Pretrained loading reads it
        return read_checkpoint(path)
    except CheckpointError:
        raise
    except Exception as exc:  # a loader's own error, for a name it could not fetch
        raise CheckpointError(f'checkpoint {path}: {first_line(exc)}') from None


def _load_weights(model: nn.Module, checkpoint: str, config: str) -> None:
    """Load ``checkpoint`` into ``model`` when its tensors are exactly the model's (names,
    shapes, values that can be weights: :func:`mmfish.checkpoint.diff.check_fits`, as the
    inferencers load)."""
    state = read_weights(checkpoint)
    check_fits(model, state, checkpoint, config)
    model.load_state_dict(state, strict=True)


def read_config(config, cfg_options: Optional[dict] = None):
    """``config`` (a path or an mmengine ``Config``, copied) as a ``Config`` with
    ``cfg_options`` merged. A path that is not a config that loads raises ValueError
    (FileNotFoundError when missing; :func:`mmfish.apis.inputs.load_config`)."""
    from ..apis.inputs import load_config
    cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else copy_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_model(config, checkpoint: Optional[str] = None,
               cfg_options: Optional[dict] = None) -> Tuple[nn.Module, object, str]:
    """Build the model of ``config`` as MMEngine's Runner builds it (:func:`build_model`:
    the config's top-level ``data_preprocessor`` merged, SyncBN turned into BN), in eval
    mode.

    Args:
        config (str | mmengine.Config): A config file or a loaded config.
        checkpoint (str, optional): Weights to load strictly: a file (any format
            :func:`mmfish.checkpoint.io.load_state_dict` reads) or a name
            (``mmfish://resnest50``, :func:`read_weights`). Defaults to None (the config's
            initial weights).
        cfg_options (dict, optional): Keys to merge into the config first, as
            ``--cfg-options`` does (``{'model.backbone.base_channels': 16}``). Defaults to None.

    Returns:
        tuple: ``(model, cfg, task)``. A model that is not exportable raises
        :class:`UnsupportedConfig` before anything is built.
    """
    cfg = read_config(config, cfg_options)
    task = model_task(cfg)[1]
    model = build_model(cfg)
    if checkpoint is not None:
        _load_weights(model, checkpoint, getattr(cfg, 'filename', None) or 'the config')
    return model.eval(), cfg, task


def copy_config(cfg):
    """A deep copy of an mmengine ``Config``."""
    from mmengine.config import Config
    return Config(cfg.to_dict())
