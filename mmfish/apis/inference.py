"""Inference with an mmfish model through its toolbox's own inferencer.

A config names its toolbox by its ``default_scope`` (every config under ``configs/`` inherits
one from its toolbox's runtime); :func:`build_inferencer` builds that toolbox's inferencer
(MMPretrain's ``ImageClassificationInferencer``, MMDetection's ``DetInferencer``,
MMSegmentation's ``MMSegInferencer``, MMPose's ``MMPoseInferencer``) with the checkpoint's
weights, and :func:`infer` runs it on images, returning its predictions and the pictures it
drew::

    from mmfish.apis import infer
    result = infer('configs/tiny/demo/mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco.py',
                   'work_dirs/.../iter_80.pth', ['a.jpg', 'b.jpg'], out_dir='out')
    result['predictions'][0]['bboxes'], result['pictures'][0]  # out/vis/a.jpg

MMPose's top-down models need person boxes: without a person detector, the inferencer takes
the whole image as the one person's box (MMPose's ``det_model='whole_image'``).
"""
import importlib.util
import os.path as osp
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
from mmengine.registry import DefaultScope

#: the toolboxes whose inferencers :func:`build_inferencer` builds, by default scope
TOOLBOXES = ('mmpretrain', 'mmdet', 'mmseg', 'mmpose')
#: checkpoint names that the loaders resolve (``mmfish://`` by :mod:`mmfish.hub`)
SCHEMES = ('mmfish://', 'open-mmlab://', 'http://', 'https://')
ImageInput = Union[str, np.ndarray]


def load_config(config):
    """``config`` (a path, or an MMEngine ``Config``) as a ``Config``; its ``custom_imports``
    (mmfish's registry) are imported on loading."""
    from mmengine.config import Config
    if isinstance(config, Config):
        return config
    if not osp.isfile(str(config)):
        raise FileNotFoundError(f'config {config}: no such file (give a config file, e.g. one '
                                'under configs/)')
    return Config.fromfile(str(config))


def toolbox_of(config, toolbox: Optional[str] = None) -> str:
    """The toolbox (``mmpretrain``, ``mmdet``, ``mmseg`` or ``mmpose``) of ``config`` (a path or
    a ``Config``), from its ``default_scope``.

    Args:
        config (str | Config): the config.
        toolbox (str, optional): the toolbox the caller expects; a config of another one is
            refused. Defaults to None (any).

    Raises ValueError for a config without a ``default_scope``, of another toolbox than
    ``toolbox`` or of a toolbox not installed, naming the valid ones.
    """
    cfg = load_config(config)
    scope = cfg.get('default_scope')
    name = getattr(cfg, 'filename', None) or 'the config'
    if not scope:
        raise ValueError(f'{name} has no default_scope, so its toolbox is unknown: set '
                         f'default_scope to one of {", ".join(TOOLBOXES)}')
    if scope not in TOOLBOXES:
        raise ValueError(f'{name} is a config of {scope!r}; the toolboxes with an inferencer '
                         f'here are {", ".join(TOOLBOXES)}')
    if toolbox is not None and scope != toolbox:
        raise ValueError(f'{name} is a config of {scope}, not of {toolbox} (its default_scope '
                         f'is {scope!r}): give a {toolbox} config, or ask for {scope}')
    if importlib.util.find_spec(scope) is None:
        installed = [t for t in TOOLBOXES if importlib.util.find_spec(t) is not None]
        raise ValueError(f'{name} is a config of {scope}, which is not installed; installed: '
                         f'{", ".join(installed) or "none"}')
    return scope


def resolve_checkpoint(checkpoint: str) -> str:
    """The file or name that the inferencer loads: ``mmfish://<name>`` resolved to its
    converted file by :func:`mmfish.hub.resolve` (fetched and converted on first use), other
    names of :data:`SCHEMES` as they are (MMEngine's loaders read them), else a local file,
    which must exist (FileNotFoundError)."""
    from ..hub import SCHEME, resolve
    checkpoint = str(checkpoint)
    if checkpoint.startswith(SCHEME):
        return resolve(checkpoint)
    if checkpoint.startswith(SCHEMES):
        return checkpoint
    path = osp.expanduser(checkpoint)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {checkpoint}: no such file; give a checkpoint '
                                f'file or a name starting with one of {", ".join(SCHEMES)}')
    return path


def build_inferencer(config, checkpoint: str, device: str = 'cpu',
                     toolbox: Optional[str] = None):
    """The inferencer of ``config``'s toolbox (:func:`toolbox_of`) with the weights of
    ``checkpoint``.

    Args:
        config (str | Config): the model's config.
        checkpoint (str): a checkpoint file, or a name (``mmfish://``, ``open-mmlab://``,
            a URL: :func:`resolve_checkpoint`).
        device (str): where the model runs. Defaults to ``'cpu'``.
        toolbox (str, optional): the toolbox the config must be of. Defaults to None (any).
    """
    cfg = load_config(config)
    scope = toolbox_of(cfg, toolbox)
    weights = resolve_checkpoint(checkpoint)
    # in the toolbox's scope, whatever an earlier inferencer or Runner left as the default
    with DefaultScope.overwrite_default_scope(scope):
        return _build(scope, cfg, weights, device)


def _build(scope: str, cfg, weights: str, device: str):
    if scope == 'mmpretrain':
        from mmpretrain.apis import ImageClassificationInferencer
        return ImageClassificationInferencer(cfg, pretrained=weights, device=device)
    if scope == 'mmdet':
        from mmdet.apis import DetInferencer
        return DetInferencer(cfg, weights, device=device, show_progress=False)
    if scope == 'mmseg':
        from mmseg.apis import MMSegInferencer
        return MMSegInferencer(cfg, weights, device=device)
    from mmpose.apis import MMPoseInferencer
    inferencer = MMPoseInferencer(pose2d=cfg, pose2d_weights=weights, device=device,
                                  det_model='whole_image')
    _scalar_circle_radius(inferencer.inferencer.visualizer)
    return inferencer


def _scalar_circle_radius(visualizer) -> None:
    """Let ``visualizer`` (MMPose's ``PoseLocalVisualizer``) draw keypoints with numpy >= 2.4:
    MMPose 1.3.2 passes each keypoint's radius as a one-element array, which its OpenCV
    drawing turns into an int, an error since numpy 2.4; this visualizer gets the number."""
    if getattr(visualizer, 'backend', None) != 'opencv':
        return
    draw_circles = visualizer.draw_circles

    def draw(center, radius, *args, **kwargs):
        if np.size(radius) == 1:
            radius = float(np.asarray(radius).reshape(-1)[0])
        return draw_circles(center, radius, *args, **kwargs)

    visualizer.draw_circles = draw


def scope_of(inferencer) -> str:
    """The toolbox of an inferencer that :func:`build_inferencer` built."""
    module = type(inferencer).__module__.split('.')[0]
    if module not in TOOLBOXES:
        raise ValueError(f'{type(inferencer).__name__} is not an inferencer of '
                         f'{", ".join(TOOLBOXES)}')
    return module


def check_image(image: ImageInput, index: int) -> ImageInput:
    """``image`` if an inferencer can read it: a path to an image file OpenCV decodes, or an
    HxWx3 uint8 array (BGR); else FileNotFoundError (no such file) or ValueError saying why."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f'input {index}: an array of shape {image.shape} and dtype '
                             f'{image.dtype}; an image array is HxWx3, uint8, BGR')
        return image
    if not isinstance(image, (str, Path)):
        raise ValueError(f'input {index}: a {type(image).__name__}; give an image file path or '
                         'an HxWx3 uint8 BGR array')
    import mmcv
    path = str(image)
    if not osp.isfile(path):
        raise FileNotFoundError(f'input {index}: {path}: no such image file')
    try:
        decoded = mmcv.imread(path)
    except Exception as exc:  # a file mmcv cannot decode
        raise ValueError(f'input {index}: {path} is not a readable image ({exc})') from exc
    if decoded is None:
        raise ValueError(f'input {index}: {path} is not a readable image (OpenCV decodes '
                         'JPEG, PNG, BMP, ... files)')
    return path


def _predict_one(inferencer, scope: str, image: ImageInput, draw_dir: Optional[str],
                 kwargs: Dict[str, Any]):
    """The inferencer's prediction for one image, drawn into ``<draw_dir>/vis/`` if given."""
    vis = osp.join(draw_dir, 'vis') if draw_dir else None
    if scope == 'mmpretrain':
        return inferencer(image, show_dir=vis, **kwargs)[0]
    if scope == 'mmpose':
        extra = dict(vis_out_dir=vis) if vis else {}
        return next(inferencer(image, **extra, **kwargs))['predictions'][0]
    # mmdet and mmseg draw into <out_dir>/vis/ (mmseg also writes its label map to pred/)
    out = inferencer(image, out_dir=draw_dir or '', **kwargs)
    return out['predictions'][0] if scope == 'mmdet' else out['predictions']


def _drawn_file(draw_dir: str) -> Optional[str]:
    """The one picture an inferencer drew into ``<draw_dir>/vis/``."""
    files = [p for p in (Path(draw_dir) / 'vis').glob('*') if p.is_file()]
    return str(files[0]) if len(files) == 1 else None


def _predict_and_draw(inferencer, scope: str, image: ImageInput, index: int, vis: Path,
                      kwargs: Dict[str, Any]) -> tuple:
    """The prediction for one image and the path of its picture, ``vis/<image's stem>``
    (``array_<index>`` for an array) with the suffix the inferencer gave it."""
    vis.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=str(vis)) as tmp:  # the inferencer's own layout
        prediction = _predict_one(inferencer, scope, image, tmp, kwargs)
        drawn = _drawn_file(tmp)
        if drawn is None:
            raise RuntimeError(f'the {scope} inferencer drew no picture of input {index}')
        stem = Path(image).stem if isinstance(image, (str, Path)) else f'array_{index:04d}'
        picture = vis / (stem + Path(drawn).suffix)
        shutil.move(drawn, picture)
    return prediction, str(picture)


def infer(config, checkpoint: str, inputs: Union[ImageInput, Sequence[ImageInput]],
          out_dir: Optional[str] = None, device: str = 'cpu', toolbox: Optional[str] = None,
          inferencer=None, **kwargs) -> dict:
    """Run ``config``'s toolbox inferencer with ``checkpoint`` on ``inputs``.

    Args:
        config (str | Config): the model's config.
        checkpoint (str): a checkpoint file or name (:func:`resolve_checkpoint`).
        inputs (str | ndarray | list): image file paths and HxWx3 uint8 BGR arrays.
        out_dir (str, optional): where the pictures the inferencer draws go, as
            ``<out_dir>/vis/<image name>`` (``array_<index>`` for an array). Defaults to None
            (nothing drawn).
        device (str): where the model runs. Defaults to ``'cpu'``.
        toolbox (str, optional): the toolbox the config must be of. Defaults to None (any).
        inferencer (optional): an inferencer built earlier by :func:`build_inferencer` (then
            ``config``, ``checkpoint`` and ``device`` are not read). Defaults to None.
        **kwargs: passed to the inferencer's call, e.g. ``pred_score_thr`` (mmdet),
            ``kpt_thr`` (mmpose).

    Returns:
        dict: ``predictions``, one per input, each as the toolbox's inferencer gives it
        (mmpretrain: a dict of ``pred_label``, ``pred_score``, ``pred_class``,
        ``pred_scores``; mmdet: a dict of ``labels``, ``scores``, ``bboxes`` (x1, y1, x2, y2)
        and ``masks``; mmseg: the HxW label map; mmpose: a list of persons, each a dict of
        ``keypoints``, ``keypoint_scores``, ``bbox``, ``bbox_score``), and ``pictures``: the
        drawn file of each input (None without ``out_dir``).
    """
    images = [inputs] if isinstance(inputs, (str, Path, np.ndarray)) else list(inputs)
    if not images:
        raise ValueError('no inputs: give image file paths or HxWx3 uint8 BGR arrays')
    images = [check_image(image, i) for i, image in enumerate(images)]
    if inferencer is None:
        inferencer = build_inferencer(config, checkpoint, device, toolbox)
    scope = scope_of(inferencer)
    with DefaultScope.overwrite_default_scope(scope):
        return _infer_each(inferencer, scope, images, out_dir, kwargs)


def _infer_each(inferencer, scope: str, images: list, out_dir: Optional[str],
                kwargs: Dict[str, Any]) -> dict:
    predictions, pictures = [], []
    for i, image in enumerate(images):
        if out_dir is None:
            prediction, picture = _predict_one(inferencer, scope, image, None, kwargs), None
        else:
            prediction, picture = _predict_and_draw(inferencer, scope, image, i,
                                                    Path(out_dir) / 'vis', kwargs)
        predictions.append(prediction)
        pictures.append(picture)
    return dict(predictions=predictions, pictures=pictures)


def classes_of(inferencer) -> Optional[Sequence[str]]:
    """The class names of an inferencer's model (its ``dataset_meta``), or None."""
    model = getattr(inferencer, 'model', None) or getattr(
        getattr(inferencer, 'inferencer', None), 'model', None)
    meta = getattr(model, 'dataset_meta', None) or {}
    return meta.get('classes')


def _name(label: int, classes: Optional[Sequence[str]]) -> str:
    return classes[label] if classes is not None and label < len(classes) else str(label)


def summary(toolbox: str, prediction, score_thr: float = 0.3,
            classes: Optional[Sequence[str]] = None) -> str:
    """One line saying what a prediction of :func:`infer` holds.

    Args:
        toolbox (str): the toolbox of the inferencer that made it.
        prediction: one entry of :func:`infer`'s ``predictions``.
        score_thr (float): the score from which boxes (mmdet) and keypoints (mmpose) count.
            Defaults to 0.3.
        classes (list[str], optional): the class names (:func:`classes_of`). Defaults to None
            (class indices).
    """
    if toolbox == 'mmpretrain':
        return (f'class {prediction.get("pred_class", prediction["pred_label"])} '
                f'(score {prediction["pred_score"]:.3f})')
    if toolbox == 'mmdet':
        kept = [(label, score) for label, score in zip(prediction['labels'], prediction['scores'])
                if score >= score_thr]
        names = sorted({_name(label, classes) for label, _ in kept})
        return (f'{len(kept)} boxes of score >= {score_thr:g}'
                + (f' ({", ".join(names)})' if names else ''))
    if toolbox == 'mmseg':
        labels = np.unique(np.asarray(prediction)).tolist()
        return 'labels ' + ', '.join(_name(int(label), classes) for label in labels)
    if toolbox == 'mmpose':
        seen = [int((np.asarray(p['keypoint_scores']) >= score_thr).sum()) for p in prediction]
        return (f'{len(prediction)} persons, keypoints of score >= {score_thr:g}: '
                + ', '.join(f'{n}/{len(p["keypoint_scores"])}' for n, p in zip(seen, prediction)))
    raise ValueError(f'unknown toolbox {toolbox!r}; the toolboxes are {", ".join(TOOLBOXES)}')


__all__ = ['SCHEMES', 'TOOLBOXES', 'build_inferencer', 'check_image', 'classes_of', 'infer',
           'load_config', 'resolve_checkpoint', 'scope_of', 'summary', 'toolbox_of']
