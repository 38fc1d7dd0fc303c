"""Export whole models built from an mmfish config (an OpenMMLab toolbox config) to ONNX and
check them in onnxruntime against PyTorch.

What each task's ONNX graph computes, from ``images`` (float32, ``N x 3 x H x W``, pixel
values 0-255 in the channel order the config's pipeline loads: BGR for mmcv's
``LoadImageFromFile``); the graph starts with the config's data preprocessor (channel flip,
mean and standard deviation), the model being built as MMEngine's Runner builds it
(:func:`.build.build_model`: the config's top-level ``data_preprocessor`` merged, as mmpretrain's
configs need):

- ``classifier`` (mmpretrain ``ImageClassifier``): ``logits`` and ``scores``, both
  ``N x classes``: the head's logits and their softmax (what mmpretrain's ``predict`` calls
  ``pred_score``);
- ``segmenter`` (mmseg ``EncoderDecoder``): ``logits``, ``N x classes x H x W``, the decode
  head's logits resized (bilinear) to the input's size; their argmax over the classes is
  the label map. Height and width are dynamic;
- ``pose`` (mmpose ``TopdownPoseEstimator``): ``heatmaps``, ``N x keypoints x h x w`` of a
  person crop at the codec's input size;
- ``detector`` (mmdet ``MaskRCNN``, ``FasterRCNN``, ``CascadeRCNN``): the whole ``predict``
  for one image (:class:`.detector.TwoStageDetector`, :class:`.cascade.CascadeDetector`):
  ``boxes``, ``scores``, ``labels`` and, with a mask
  head, ``masks`` (``K x 28 x 28`` probabilities; :func:`.detections.paste_masks` pastes
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
import os
import os.path as osp
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..checkpoint.io import atomic_path, check_destination
from ..testing import non_finite
from .build import (
    DYNAMIC_BY_DEFAULT,
    PARTS,
    load_model,
    model_config,
    model_task,
    read_config,
)
from .export import (
    MIN_SIDE,
    ONNX_TOLERANCE,
    check_finite,
    check_input_size,
    check_tolerance,
    onnx_max_rel_error,
)
from .wrappers import portable, wrap

__all__ = ['default_size', 'export_whole', 'random_images', 'read_images', 'second_size',
           'summary']


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
            of :data:`.build.TASKS`, else :class:`.build.UnsupportedConfig` is raised before
            any work.
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
