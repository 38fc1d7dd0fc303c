"""Export whole models built from an mmfish config (an OpenMMLab toolbox config) to ONNX and
check them in onnxruntime against PyTorch.

What each task's ONNX graph computes, from ``images`` (float32, ``N x 3 x H x W``, pixel
values 0-255 in the channel order the config's pipeline loads: BGR for mmcv's
``LoadImageFromFile``); the graph starts with the config's data preprocessor (channel flip,
mean and standard deviation), the model being built as MMEngine's Runner builds it
(:func:`build_model`: the config's top-level ``data_preprocessor`` merged, as mmpretrain's
configs need):

- ``classifier`` (mmpretrain ``ImageClassifier``): ``logits`` and ``scores``, both
  ``N x classes``: the head's logits and their softmax (what mmpretrain's ``predict`` calls
  ``pred_score``);
- ``segmenter`` (mmseg ``EncoderDecoder``): ``logits``, ``N x classes x H x W``, the decode
  head's logits resized (bilinear) to the input's size; their argmax over the classes is
  the label map. Height and width are dynamic;
- ``pose`` (mmpose ``TopdownPoseEstimator``): ``heatmaps``, ``N x keypoints x h x w`` of a
  person crop at the codec's input size;
- ``detector`` (mmdet ``MaskRCNN``, ``FasterRCNN``): the whole ``predict`` for one image
  (:class:`.detector.TwoStageDetector`): ``boxes``, ``scores``, ``labels`` and, for Mask
  R-CNN, ``masks`` (``K x 28 x 28`` probabilities; :func:`.detections.paste_masks` pastes
  them), height and width dynamic; ``part='rpn'``: backbone, neck and RPN head alone,
  ``feat0..`` (the neck's levels), ``rpn_cls0..`` and ``rpn_reg0..`` (the RPN's scores and
  box deltas per level). A whole detector is checked against mmdet's own ``predict``
  (:func:`.detections.check_detections`): the same detections, boxes within 0.01 pixel,
  scores within 1e-4, pasted masks of IoU 0.99 or more.

The export uses ``torch.onnx.export(dynamo=True)``, torch's default exporter since 2.9 and
the one :func:`.export.export_onnx` uses (``dynamo=False`` picks the TorchScript exporter,
deprecated in torch 2.13). The file is written atomically and checked in onnxruntime on the
given inputs (or random images) at each input size; no NaN or infinity passes the check. The
input size and batch are bounded (:func:`.export.valid_input_range`); the output may not be
the config or the checkpoint.
"""
import copy
import os
import os.path as osp
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..checkpoint.diff import check_fits
from ..checkpoint.io import (
    CheckpointError,
    atomic_path,
    check_destination,
)
from ..testing import non_finite
from .export import (
    MIN_SIDE,
    ONNX_TOLERANCE,
    check_finite,
    check_input_size,
    check_tolerance,
    onnx_max_rel_error,
)
from .preprocess import Preprocess

__all__ = ['PARTS', 'TASKS', 'UnsupportedConfig', 'build_model', 'export_whole', 'load_model',
           'model_config', 'model_task', 'read_images', 'wrap']

#: the model types exported, by toolbox scope and type name, and their task
TASKS = {
    ('mmpretrain', 'ImageClassifier'): 'classifier',
    ('mmseg', 'EncoderDecoder'): 'segmenter',
    ('mmpose', 'TopdownPoseEstimator'): 'pose',
    ('mmdet', 'MaskRCNN'): 'detector',
    ('mmdet', 'FasterRCNN'): 'detector',
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


# -- the exported modules -----------------------------------------------------------------------
class Classifier(nn.Module):
    """``images -> (logits, scores)``: an mmpretrain ``ImageClassifier``'s logits and their
    softmax (its ``pred_score``). The logits make the check meaningful where the softmax
    saturates (an error of 0 between two one-hot vectors)."""
    outputs = ('logits', 'scores')

    def __init__(self, model: nn.Module):
        super().__init__()
        self.pre, self.model = Preprocess(model.data_preprocessor), model

    def forward(self, x):
        logits = self.model.head(self.model.extract_feat(self.pre(x)))
        return logits, F.softmax(logits, dim=1)


class Segmenter(nn.Module):
    """``images -> logits``: an mmseg ``EncoderDecoder``'s decode-head logits at the input's
    size (as its ``predict`` resizes them in ``whole`` mode)."""
    outputs = ('logits', )

    def __init__(self, model: nn.Module):
        super().__init__()
        self.pre, self.model = Preprocess(model.data_preprocessor), model

    def forward(self, x):
        logits = self.model.decode_head(self.model.extract_feat(self.pre(x)))
        return F.interpolate(logits, size=x.shape[2:], mode='bilinear',
                             align_corners=self.model.decode_head.align_corners)


class Pose(nn.Module):
    """``crops -> heatmaps``: an mmpose ``TopdownPoseEstimator``'s head output."""
    outputs = ('heatmaps', )

    def __init__(self, model: nn.Module):
        super().__init__()
        self.pre, self.model = Preprocess(model.data_preprocessor), model

    def forward(self, x):
        return self.model.head(self.model.extract_feat(self.pre(x)))


class DetectorRPN(nn.Module):
    """``images -> (feat*, rpn_cls*, rpn_reg*)``: an mmdet two-stage detector's backbone,
    neck and RPN head."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.pre, self.model = Preprocess(model.data_preprocessor), model
        levels = len(model.rpn_head.prior_generator.strides)
        self.outputs = tuple(f'{kind}{i}' for kind in ('feat', 'rpn_cls', 'rpn_reg')
                             for i in range(levels))

    def forward(self, x):
        feats = self.model.extract_feat(self.pre(x))
        scores, deltas = self.model.rpn_head(feats)
        return (*feats, *scores, *deltas)


class AdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` computed from running sums, with the bins' bounds taken from
    the input's size as graph operations. torch.onnx decomposes the adaptive pool of an input
    that the output size does not divide into gathers at indices fixed for the exported
    size (onnxruntime then fails at other sizes: ``GatherND ... invalid index``); this one
    stays right at every size. Bin ``i`` of ``o`` over ``n`` rows covers rows
    ``floor(i * n / o)`` to ``ceil((i + 1) * n / o)``, as PyTorch's."""

    def __init__(self, output_size):
        super().__init__()
        size = (output_size, output_size) if isinstance(output_size, int) else output_size
        if None in tuple(size):
            raise ValueError(f'output_size {output_size!r}: give both sizes')
        self.output_size = tuple(int(s) for s in size)

    @staticmethod
    def _pool(x: torch.Tensor, dim: int, out: int) -> torch.Tensor:
        n = x.shape[dim]
        sums = F.pad(x.cumsum(dim), [0, 0] * (x.dim() - 1 - dim) + [1, 0])
        i = torch.arange(out, device=x.device)
        start, end = i * n // out, ((i + 1) * n + out - 1) // out
        shape = [1] * x.dim()
        shape[dim] = out
        count = (end - start).to(x.dtype).view(shape)
        return (sums.index_select(dim, end) - sums.index_select(dim, start)) / count

    def forward(self, x):
        return self._pool(self._pool(x, x.dim() - 2, self.output_size[0]), x.dim() - 1,
                          self.output_size[1])


def portable(module: nn.Module) -> nn.Module:
    """A copy of ``module`` whose adaptive average pools to more than one bin are
    :class:`AdaptiveAvgPool2d` (the same function, exported right at every input size);
    ``module`` itself is left as it is. A module without such pools is returned as it is."""
    import copy
    if not any(isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size not in (1, (1, 1))
               for m in module.modules()):
        return module
    module = copy.deepcopy(module)
    for name, m in list(module.named_modules()):
        if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size not in (1, (1, 1)):
            parent_name, _, child = name.rpartition('.')
            setattr(module.get_submodule(parent_name), child, AdaptiveAvgPool2d(m.output_size))
    return module


_WRAPPERS = dict(classifier=Classifier, segmenter=Segmenter, pose=Pose)


def wrap(model: nn.Module, task: str, part: str = 'default') -> nn.Module:
    """The tensor-in, tensor-out module that is exported for ``model`` of ``task``
    (:data:`TASKS`); its ``outputs`` attribute names the outputs. A detector is its whole
    ``predict`` (:class:`.detector.TwoStageDetector`); ``part='rpn'`` its backbone, neck and
    RPN head (:class:`DetectorRPN`)."""
    if task not in _WRAPPERS and task != 'detector':
        raise ValueError(f'unknown task {task!r}; valid: {", ".join(_WRAPPERS)}, detector')
    if part not in PARTS:
        raise ValueError(f'unknown part {part!r}; valid: {", ".join(PARTS)}')
    if task == 'detector':
        from .detector import TwoStageDetector
        return (DetectorRPN if part == 'rpn' else TwoStageDetector)(model).eval()
    if part != 'default':
        raise ValueError(f"part='{part}' is a detector's backbone, neck and RPN head; a "
                         f"{task} is exported whole (part='default')")
    return _WRAPPERS[task](model).eval()


# -- inputs -------------------------------------------------------------------------------------
def default_size(cfg, task: str) -> Tuple[int, int]:
    """The input ``(height, width)`` a config implies: a pose codec's input size, a
    segmenter's preprocessor ``size``, else 224 x 224."""
    model = model_config(cfg)
    if task == 'pose':
        w, h = model.head.decoder.input_size
        return int(h), int(w)
    size = (model.get('data_preprocessor') or {}).get('size')
    if task == 'segmenter' and size:
        return int(size[0]), int(size[1])
    return 224, 224


def random_images(size: Sequence[int], batch: int = 1, seed: int = 0) -> torch.Tensor:
    """``batch`` random images of ``size`` (height, width), pixel values in [0, 255]."""
    return torch.rand(batch, 3, *size, generator=torch.Generator().manual_seed(seed)) * 255


def read_images(paths: Sequence[str], size: Sequence[int]) -> torch.Tensor:
    """Image files read as the toolboxes' pipelines read them (mmcv, BGR) and resized to
    ``size`` (height, width): float32 ``N x 3 x H x W`` of pixel values 0-255."""
    import mmcv
    images = []
    for path in paths:
        img = mmcv.imread(str(path))
        if img is None:
            raise ValueError(f'{path}: not an image file mmcv can read')
        img = mmcv.imresize(img, (int(size[1]), int(size[0])))
        images.append(torch.from_numpy(img).permute(2, 0, 1).float())
    return torch.stack(images)


def second_size(size: Sequence[int]) -> Tuple[int, int]:
    """Another input size for checking a dynamic export: 32 rows and 64 columns more."""
    return int(size[0]) + 32, int(size[1]) + 64


# -- export -------------------------------------------------------------------------------------
def _dynamic_shapes(dynamic: bool):
    if not dynamic:
        return None
    auto = torch.export.Dim.AUTO
    return ({0: auto, 2: auto, 3: auto}, )


def _export(module: nn.Module, x: torch.Tensor, path: str, dynamic: bool, dynamo: bool) -> None:
    with torch.no_grad():
        if dynamo:
            torch.onnx.export(module, (x, ), path, input_names=['images'],
                              output_names=list(module.outputs), dynamo=True,
                              external_data=False, dynamic_shapes=_dynamic_shapes(dynamic))
        else:
            axes = {'images': {0: 'batch', 2: 'height', 3: 'width'}} if dynamic else None
            torch.onnx.export(module, (x, ), path, input_names=['images'],
                              output_names=list(module.outputs), dynamo=False,
                              dynamic_axes=axes)


def check_inputs(inputs: Optional[Sequence[torch.Tensor]], size: Sequence[int], dynamic: bool,
                 batch: int) -> List[torch.Tensor]:
    """The inputs the export is checked on: ``inputs``, or random images at ``size`` (and at
    :func:`second_size` when ``dynamic``); a static export's inputs must all be of ``size``."""
    if inputs is None:
        sizes = [tuple(size)] + ([second_size(size)] if dynamic else [])
        for s in sizes:
            check_input_size(s, batch, name='checked size' if s != tuple(size) else 'size')
        return [random_images(s, batch, seed=i) for i, s in enumerate(sizes)]
    inputs = list(inputs)
    if not inputs:
        raise ValueError('inputs is empty: give one or more N x 3 x H x W images, or None')
    for x in inputs:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValueError(f'inputs must be float tensors of N x 3 x H x W images (pixel '
                             f'values 0-255), got {type(x).__name__} '
                             f'{getattr(x, "dtype", "")}'.rstrip())
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'inputs must be N x 3 x H x W images, got {tuple(x.shape)}')
        check_input_size(x.shape[2:], x.shape[0], name='input size')
        bad = non_finite(x)
        if bad:
            raise ValueError(f'an input of shape {tuple(x.shape)} holds '
                             f'{bad.replace(" in output 0", "")} values: give images of '
                             f'finite pixel values 0-255')
        if not dynamic and tuple(x.shape) != tuple(inputs[0].shape):
            raise ValueError(f'a static export takes one input shape: {tuple(x.shape)} and '
                             f'{tuple(inputs[0].shape)}; export with dynamic=True')
    return inputs


def export_whole(config, path: Optional[str] = None, checkpoint: Optional[str] = None,
                 size: Optional[Sequence[int]] = None, dynamic: Optional[bool] = None,
                 inputs: Optional[Sequence[torch.Tensor]] = None, batch: int = 1,
                 model: Optional[nn.Module] = None, part: str = 'default',
                 cfg_options: Optional[dict] = None, dynamo: bool = True,
                 tolerance: float = ONNX_TOLERANCE) -> dict:
    """Export the model of ``config`` to ONNX and check it in onnxruntime against PyTorch.

    Args:
        config (str | mmengine.Config): An mmfish (OpenMMLab) config; its model must be one
            of :data:`TASKS`, else :class:`UnsupportedConfig` is raised before any work.
        path (str, optional): The ``.onnx`` file to write (atomically; checked first with
            :func:`~mmfish.checkpoint.io.check_destination`, which refuses the config and the
            checkpoint themselves). Defaults to None (a temporary file).
        checkpoint (str, optional): Weights to load: a file or a name such as
            ``mmfish://resnest50`` (:func:`read_weights`). Defaults to None.
        size (tuple[int, int], optional): ``(height, width)`` of the exported example input,
            two integers within :func:`~.export.valid_input_range` (else ValueError).
            Defaults to None (the first of ``inputs``, else :func:`default_size`).
        dynamic (bool, optional): Dynamic height and width, and batch when the exported
            example holds 2 or more images (torch.export fixes a dimension of size 1).
            Defaults to None (dynamic for the segmenter and a whole detector, static for the
            others). A whole detector's graph takes one image (batch 1): its inputs are
            checked image by image.
        inputs (list[Tensor], optional): Images (``N x 3 x H x W``, pixel values 0-255) to
            check the export on; the first is the example that is exported. Defaults to None
            (random images at ``size``, and at :func:`second_size` when dynamic).
        batch (int): Batch of the random inputs, within
            :func:`~.export.valid_input_range`. Defaults to 1.
        model (nn.Module, optional): The model already built from ``config`` (e.g. by
            :func:`load_model`); ``checkpoint`` and ``cfg_options`` then do not apply.
            Defaults to None.
        part (str): One of :data:`PARTS`: ``'default'`` (the whole model; a detector's
            ``predict``), or ``'rpn'`` for a detector's backbone, neck and RPN head. Defaults
            to ``'default'``.
        cfg_options (dict, optional): Config keys to merge first. Defaults to None.
        dynamo (bool): ``torch.onnx.export``'s exporter. Defaults to True.
        tolerance (float): The largest relative difference accepted between onnxruntime's
            and PyTorch's outputs. Defaults to :data:`~.export.ONNX_TOLERANCE`.

    Returns:
        dict: ``path`` (absolute), ``task``, ``outputs`` (names), ``dynamic``, ``sizes``
        (the checked input shapes), ``errors`` (the check's error at each), ``max_rel_err``,
        ``export_s`` (seconds of the export) and ``bytes`` (the file's size); a whole
        detector's also ``detections`` (per image checked,
        :func:`.detections.compare` of onnxruntime's detections with mmdet's ``predict``),
        its ``errors`` being the largest box difference (relative to the image's larger side)
        or score difference. An error above ``tolerance`` (for a detector: detections beyond
        :func:`.detections.agrees`'s bounds), or a NaN or infinite output of PyTorch
        (checked before the export) or of onnxruntime (:class:`~.export.NonFiniteOutput`),
        raises RuntimeError and leaves no file; inputs holding NaN or infinities raise ValueError.
    """
    tolerance = check_tolerance(tolerance)
    if part not in PARTS:
        raise ValueError(f'unknown part {part!r}; valid: {", ".join(PARTS)}')
    if size is not None:
        size = check_input_size(size, batch)[0]
    else:
        check_input_size((MIN_SIDE, MIN_SIDE), batch)  # the batch alone
    if path is not None:
        sources = dict(config=config if isinstance(config, (str, os.PathLike)) else
                       getattr(config, 'filename', None), checkpoint=checkpoint)
        from ..weights.hub import SCHEME, converted_path
        if str(checkpoint).startswith(SCHEME):  # the file the name resolves to
            sources['checkpoint'] = converted_path(str(checkpoint)[len(SCHEME):])
        path = check_destination(path, sources, example='model.onnx')
    if model is None:
        model, cfg, task = load_model(config, checkpoint, cfg_options)
    else:
        cfg = read_config(config)
        task = model_task(cfg)[1]
    detector = task == 'detector' and part == 'default'  # checked against mmdet's predict
    if dynamic is None:
        dynamic = task in DYNAMIC_BY_DEFAULT and (task != 'detector' or detector)
    dynamic = bool(dynamic)
    size = tuple(inputs[0].shape[2:]) if inputs is not None and size is None else \
        tuple(size or default_size(cfg, task))
    xs = check_inputs(inputs, size, dynamic, batch)
    module = wrap(model.eval(), task, part)
    # a model that gives NaN or infinities is refused before the export (a detector's graph
    # takes one image)
    with torch.no_grad():
        for x in xs:
            for image in ([x[i:i + 1] for i in range(len(x))] if detector else [x]):
                out = module(image)
                check_finite(out if isinstance(out, (tuple, list)) else [out],
                             list(module.outputs), 'PyTorch', image)
    if path is None:
        fd, path = tempfile.mkstemp(suffix='.onnx')
        os.close(fd)
    detections = None
    with atomic_path(path) as tmp:
        start = time.perf_counter()
        _export(portable(module), xs[0][:1] if detector else xs[0], tmp, dynamic, dynamo)
        seconds = time.perf_counter() - start
        if detector:
            errors, detections = _check_detector(tmp, model, xs)
        else:
            errors = [onnx_max_rel_error(tmp, module, x) for x in xs]
            if max(errors) > tolerance:
                raise RuntimeError(f'onnxruntime and PyTorch outputs differ by '
                                   f'{max(errors):.2e} (> {tolerance:.0e}) on inputs of shapes '
                                   f'{[tuple(x.shape) for x in xs]}: the export is not faithful')
    result = dict(path=path, task=task, outputs=list(module.outputs), dynamic=dynamic,
                  sizes=[tuple(x.shape) for x in xs], errors=errors, max_rel_err=max(errors),
                  export_s=seconds, bytes=osp.getsize(path))
    if detections is not None:
        result['detections'] = detections
    return result


def _check_detector(path: str, model: nn.Module, xs: List[torch.Tensor]):
    """The exported detector at ``path`` against mmdet's ``predict`` on each image of ``xs``
    (:func:`.detections.check_detections`): per input, the largest difference of a box
    (relative to the image's larger side) or a score, and every image's comparison. A
    disagreement beyond :func:`.detections.agrees`'s bounds raises RuntimeError."""
    from .detections import agrees, check_detections, describe
    errors, diffs = [], []
    for x in xs:
        found = check_detections(path, model, [x])
        bad = [d for d in found if not agrees(d)]
        if bad:
            raise RuntimeError(f'onnxruntime and mmdet\'s predict disagree on an input of shape '
                               f'{tuple(x.shape)}: {describe(bad[0])}; the export is not '
                               f'faithful')
        side = max(x.shape[2:])
        errors.append(max(max(d['boxes'] / side, d['scores']) for d in found))
        diffs.extend(found)
    return errors, diffs


def summary(result: Dict) -> str:
    """What :func:`export_whole` exported, in one paragraph."""
    if 'detections' in result:
        from .detections import describe
        checks = '; '.join(describe(d) for d in result['detections'])
        kind = 'dynamic' if result['dynamic'] else 'static'
        return (f'exported the whole detector (one image, {kind} input size) to '
                f'{result["path"]} in {result["export_s"]:.1f} s, '
                f'{result["bytes"] / 2**20:.1f} MiB; outputs {", ".join(result["outputs"])}; '
                f'onnxruntime against mmdet\'s predict on '
                f'{", ".join("x".join(map(str, s)) for s in result["sizes"])}: {checks}')
    checks = ', '.join(f'{"x".join(map(str, s))}: {e:.1e}'
                       for s, e in zip(result['sizes'], result['errors']))
    return (f'exported the {result["task"]} ({"dynamic" if result["dynamic"] else "static"} '
            f'input size) to {result["path"]} in {result["export_s"]:.1f} s, '
            f'{result["bytes"] / 2**20:.1f} MiB; outputs {", ".join(result["outputs"])}; '
            f'onnxruntime against PyTorch, max relative error per input shape: {checks}')
