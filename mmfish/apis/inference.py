"""Inference with an mmfish model through its toolbox's own inferencer.

A config names its toolbox by its ``default_scope`` (every config under ``configs/`` inherits
one from its toolbox's runtime); :func:`build_inferencer` builds that toolbox's inferencer
(MMPretrain's ``ImageClassificationInferencer``, MMDetection's ``DetInferencer``,
MMSegmentation's ``MMSegInferencer``, MMPose's ``MMPoseInferencer``) with exactly the
checkpoint's weights (:func:`strict_loading`), and :func:`infer` runs it on images, returning
its predictions and the pictures it drew::

    from mmfish.apis import infer
    result = infer('configs/tiny/demo/mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco.py',
                   'work_dirs/.../iter_80.pth', ['a.jpg', 'b.jpg'], out_dir='out')
    result['predictions'][0]['bboxes'], result['pictures'][0]  # out/vis/a.jpg

Everything given is checked before the model is built (:func:`check_inputs`): the config,
the images (:mod:`mmfish.apis.images`: readable, within size bounds), the output folder and
each picture's path (never an input's), the device and the checkpoint.

MMPose's top-down models need person boxes: without a person detector, the inferencer takes
the whole image as the one person's box (MMPose's ``det_model='whole_image'``).
"""
import importlib.util
import os.path as osp
import shutil
import tempfile
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.registry import DefaultScope

from ..checkpoint.diff import check_fits
from .images import check_image
from .inputs import SCHEMES, check_device, check_out_dir, load_config, resolve_checkpoint

#: the toolboxes whose inferencers :func:`build_inferencer` builds, by default scope
TOOLBOXES = ('mmpretrain', 'mmdet', 'mmseg', 'mmpose')
ImageInput = Union[str, np.ndarray]


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


def build_inferencer(config, checkpoint: str, device: str = 'cpu',
                     toolbox: Optional[str] = None):
    """The inferencer of ``config``'s toolbox (:func:`toolbox_of`) with the weights of
    ``checkpoint``, loaded strictly (:func:`strict_loading`).

    Args:
        config (str | Config): the model's config.
        checkpoint (str): a checkpoint file, or a name (``mmfish://``, ``open-mmlab://``,
            a URL: :func:`resolve_checkpoint`).
        device (str): where the model runs (:func:`~mmfish.apis.inputs.check_device`).
            Defaults to ``'cpu'``.
        toolbox (str, optional): the toolbox the config must be of. Defaults to None (any).

    The config, the device and the checkpoint's path are checked before anything is built;
    a checkpoint whose tensors are not exactly the model's (missing, unexpected, of another
    shape) raises :class:`~mmfish.checkpoint.io.CheckpointMismatchError` (a ValueError).
    """
    cfg = load_config(config)
    scope = toolbox_of(cfg, toolbox)
    device = check_device(device)
    weights = resolve_checkpoint(checkpoint)
    name = getattr(cfg, 'filename', None) or 'the config'
    # in the toolbox's scope, whatever an earlier inferencer or Runner left as the default
    with DefaultScope.overwrite_default_scope(scope), strict_loading(weights, name):
        return _build(scope, cfg, weights, device)


#: one build at a time patches MMEngine's loading (:func:`strict_loading`)
_LOADING = threading.Lock()
@contextmanager
def strict_loading(checkpoint: str, config: str = 'the config'):
    """Within it, every state dict that MMEngine's checkpoint loading puts into a model
    (``mmengine.runner.checkpoint.load_state_dict``, which the four toolboxes' inferencers
    reach through ``load_checkpoint`` or ``_load_checkpoint_to_model``) is first checked by
    :func:`check_fits`: the model gets exactly the checkpoint's weights, or nothing is
    loaded. The checkpoint is read once, by MMEngine's loaders (mmfish's, see
    :mod:`mmfish.checkpoint.compat`). A build that loads no state dict at all raises
    RuntimeError."""
    from mmengine.runner import checkpoint as loading
    load = loading.load_state_dict
    calls = []

    def load_strictly(module, state_dict, strict=False, logger=None):
        check_fits(module, state_dict, checkpoint, config)
        calls.append(module)
        return load(module, state_dict, strict, logger)

    with _LOADING:
        loading.load_state_dict = load_strictly
        try:
            yield
        finally:
            loading.load_state_dict = load
    if not calls:
        raise RuntimeError(f'the inferencer did not load {checkpoint} through MMEngine\'s '
                           'load_state_dict, so its weights were not checked')


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


#: the suffix of the pictures MMPretrain's inferencer draws; the others keep the image file's
#: and draw an array as JPEG
_PNG_TOOLBOXES = ('mmpretrain', )


def picture_names(images: Sequence[ImageInput]) -> List[str]:
    """The name (without suffix) of each input's picture: the image file's name without its
    suffix, ``array_<index>`` for an array (index of 4 digits); where several inputs share a
    name (compared ignoring case, as some file systems do), each of them gets its index
    appended (``a_0000``, ``a_0001``), until every name is unique."""
    names = [f'array_{i:04d}' if isinstance(image, np.ndarray) else Path(str(image)).stem
             for i, image in enumerate(images)]
    while True:
        counts = Counter(name.casefold() for name in names)
        shared = [i for i, name in enumerate(names) if counts[name.casefold()] > 1]
        if not shared:
            return names
        for i in shared:
            names[i] = f'{names[i]}_{i:04d}'


def picture_suffix(scope: str, image: ImageInput) -> str:
    """The suffix of the picture that ``scope``'s inferencer draws of ``image``."""
    if scope in _PNG_TOOLBOXES:
        return '.png'
    return '.jpg' if isinstance(image, np.ndarray) else Path(str(image)).suffix


def _check_picture(picture: Path, index: int, images: Sequence[ImageInput]) -> None:
    """Refuse a picture path that is a folder, or is one of the input files (by
    :func:`os.path.samefile`: a link to an input counts)."""
    if picture.is_dir():
        raise ValueError(f'the picture of input {index}, {picture}, is a folder: remove it, '
                         'or give another output folder')
    if not picture.exists():
        return
    for i, image in enumerate(images):
        if isinstance(image, np.ndarray) or not osp.exists(str(image)):
            continue
        if osp.samefile(str(image), str(picture)):
            same = 'its own input' if i == index else f'input {i}, {image}'
            raise ValueError(f'the picture of input {index} would be drawn over {same}: '
                             f'{picture}; give an output folder that holds none of the '
                             'inputs\' pictures (e.g. not the one they come from)')


def plan_pictures(scope: str, images: Sequence[ImageInput], out_dir: str) -> List[str]:
    """The path of each input's picture, ``<out_dir>/vis/<name><suffix>``
    (:func:`picture_names`, :func:`picture_suffix`), once ``out_dir`` is known to be a
    writable folder (:func:`~mmfish.apis.inputs.check_out_dir`) and no picture would
    replace an input file or a folder; else ValueError. Nothing is created."""
    out_dir = check_out_dir(out_dir)
    vis = Path(out_dir) / 'vis'
    if vis.exists() and not vis.is_dir():
        raise ValueError(f'the output folder {out_dir} holds a file named vis, where the '
                         'pictures go: remove it, or give another output folder')
    pictures = [vis / (name + picture_suffix(scope, image))
                for name, image in zip(picture_names(images), images)]
    for i, picture in enumerate(pictures):
        _check_picture(picture, i, images)
    return [str(p) for p in pictures]


@dataclass
class CheckedInputs:
    """What :func:`check_inputs` found valid."""
    scope: str  #: the toolbox
    images: list  #: image file paths (``~`` expanded) and arrays
    pictures: list = field(default_factory=list)  #: each image's picture path (or None)
    cfg: Any = None  #: the loaded config (None when an inferencer was given)
    checkpoint: Optional[str] = None  #: the resolved checkpoint file or name
    device: Optional[str] = None


def check_inputs(config, checkpoint, inputs, out_dir: Optional[str] = None,
                 device: str = 'cpu', toolbox: Optional[str] = None,
                 inferencer=None) -> CheckedInputs:
    """Check what :func:`infer` is given, before any model is built, in this order: the
    config (and its toolbox), the images (:func:`~mmfish.apis.images.check_image`), the
    output folder and the pictures' paths (:func:`plan_pictures`), the device and the
    checkpoint (:func:`resolve_checkpoint`). With ``inferencer``, the config, checkpoint and
    device are not read. The first problem raises a ValueError (FileNotFoundError for a
    missing file) saying what was given and what is valid."""
    if inferencer is None:
        cfg = load_config(config)
        scope = toolbox_of(cfg, toolbox)
    else:
        cfg, scope = None, scope_of(inferencer)
    if isinstance(inputs, (str, Path, np.ndarray)):
        inputs = [inputs]
    images = [check_image(image, i) for i, image in enumerate(inputs)]
    if not images:
        raise ValueError('no inputs: give image file paths or HxWx3 uint8 BGR arrays')
    pictures = ([None] * len(images) if out_dir is None else
                plan_pictures(scope, images, out_dir))
    checked = CheckedInputs(scope, images, pictures, cfg)
    if inferencer is None:
        checked.device = check_device(device)
        checked.checkpoint = resolve_checkpoint(checkpoint)
        _check_not_over(pictures, dict(config=getattr(cfg, 'filename', None),
                                       checkpoint=checked.checkpoint))
    return checked


def _check_not_over(pictures: Sequence[Optional[str]], files: Dict[str, Optional[str]]) -> None:
    """Refuse a picture path that is one of ``files`` (what each is: its path), by
    :func:`os.path.samefile`."""
    for i, picture in enumerate(pictures):
        if picture is None or not osp.exists(picture):
            continue
        for what, path in files.items():
            if path and osp.isfile(str(path)) and osp.samefile(str(path), picture):
                raise ValueError(f'the picture of input {i} would be drawn over the {what} '
                                 f'{path}: {picture}; give another output folder')


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


def _predict_and_draw(inferencer, scope: str, images: list, index: int, picture: str,
                      kwargs: Dict[str, Any]) -> tuple:
    """The prediction for input ``index`` and its picture, moved to ``picture`` (planned by
    :func:`plan_pictures`; with the suffix the inferencer gave it, should it differ)."""
    picture = Path(picture)
    picture.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=str(picture.parent)) as tmp:  # its own layout
        prediction = _predict_one(inferencer, scope, images[index], tmp, kwargs)
        drawn = _drawn_file(tmp)
        if drawn is None:
            raise RuntimeError(f'the {scope} inferencer drew no picture of input {index}')
        if Path(drawn).suffix != picture.suffix:
            picture = picture.with_suffix(Path(drawn).suffix)
            _check_picture(picture, index, images)
        shutil.move(drawn, picture)
    return prediction, str(picture)


def infer(config, checkpoint: str, inputs: Union[ImageInput, Sequence[ImageInput]],
          out_dir: Optional[str] = None, device: str = 'cpu', toolbox: Optional[str] = None,
          inferencer=None, **kwargs) -> dict:
    """Run ``config``'s toolbox inferencer with ``checkpoint`` on ``inputs``.

    Args:
        config (str | Config): the model's config.
        checkpoint (str): a checkpoint file or name (:func:`resolve_checkpoint`), loaded
            strictly (:func:`build_inferencer`).
        inputs (str | ndarray | list): image file paths and HxWx3 uint8 BGR arrays, each
            within the size bounds of :mod:`mmfish.apis.images`.
        out_dir (str, optional): where the pictures the inferencer draws go, as
            ``<out_dir>/vis/<name>`` (:func:`picture_names`: the image file's name, or
            ``array_<index>`` for an array; the index appended where inputs share a name).
            Defaults to None (nothing drawn).
        device (str): where the model runs. Defaults to ``'cpu'``.
        toolbox (str, optional): the toolbox the config must be of. Defaults to None (any).
        inferencer (optional): an inferencer built earlier by :func:`build_inferencer` (then
            ``config``, ``checkpoint`` and ``device`` are not read). Defaults to None.
        **kwargs: passed to the inferencer's call, e.g. ``pred_score_thr`` (mmdet),
            ``kpt_thr`` (mmpose).

    Every input is checked (:func:`check_inputs`) before the model is built.

    Returns:
        dict: ``predictions``, one per input, each as the toolbox's inferencer gives it
        (mmpretrain: a dict of ``pred_label``, ``pred_score``, ``pred_class``,
        ``pred_scores``; mmdet: a dict of ``labels``, ``scores``, ``bboxes`` (x1, y1, x2, y2)
        and ``masks``; mmseg: the HxW label map; mmpose: a list of persons, each a dict of
        ``keypoints``, ``keypoint_scores``, ``bbox``, ``bbox_score``), and ``pictures``: the
        drawn file of each input (None without ``out_dir``).
    """
    checked = check_inputs(config, checkpoint, inputs, out_dir, device, toolbox, inferencer)
    if inferencer is None:
        inferencer = build_inferencer(checked.cfg, checked.checkpoint, checked.device,
                                      checked.scope)
    return run(inferencer, checked, **kwargs)


def run(inferencer, checked: CheckedInputs, **kwargs) -> dict:
    """:func:`infer`'s result for inputs that :func:`check_inputs` checked, with an
    inferencer of their toolbox."""
    scope = scope_of(inferencer)
    if scope != checked.scope:
        raise ValueError(f'an inferencer of {scope} for inputs checked for {checked.scope}')
    predictions, pictures = [], []
    with DefaultScope.overwrite_default_scope(scope):
        for i, (image, picture) in enumerate(zip(checked.images, checked.pictures)):
            if picture is None:
                prediction = _predict_one(inferencer, scope, image, None, kwargs)
            else:
                prediction, picture = _predict_and_draw(inferencer, scope, checked.images, i,
                                                        picture, kwargs)
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


__all__ = ['SCHEMES', 'TOOLBOXES', 'CheckedInputs', 'build_inferencer', 'check_fits',
           'check_image', 'check_inputs', 'classes_of', 'infer', 'load_config',
           'picture_names', 'plan_pictures', 'resolve_checkpoint', 'run', 'scope_of',
           'strict_loading', 'summary', 'toolbox_of']
