"""The detections of an exported two-stage detector (:class:`.detector.TwoStageDetector`)
beside mmdet's own ``predict``: the masks pasted into the image as mmdet pastes them
(:func:`paste_masks`), mmdet's prediction for the same pixels (:func:`mmdet_predict`), and
the comparison of the two (:func:`compare`), which the export's check uses."""
import math
from typing import Dict, Optional, Sequence

import numpy as np
import torch

__all__ = ['DETECTION_TOLERANCE', 'MASK_IOU', 'compare', 'match', 'mmdet_predict',
           'paste_masks', 'run_onnx']

#: the largest difference of a box coordinate (pixels) and of a score accepted between an
#: exported detector and mmdet's ``predict``
DETECTION_TOLERANCE = dict(boxes=1e-2, scores=1e-4)
#: the smallest intersection over union accepted between a pasted mask and mmdet's, over
#: the pixels whose pasted probability is not within :data:`MASK_MARGIN` of the threshold
MASK_IOU = 0.99
#: pixels whose pasted probability is this close to ``mask_thr_binary`` may fall on either
#: side of it (the two sides' probabilities differ by float rounding) and are left out of
#: ``mask_iou`` (``mask_iou_all`` counts them)
MASK_MARGIN = 1e-3


def _interpolation(start: int, end: int, low: float, high: float, size: int) -> np.ndarray:
    """The ``(end - start) x size`` weights of ``grid_sample`` (bilinear,
    ``align_corners=False``, zeros outside) that sample a mask row of ``size`` values
    stretched from ``low`` to ``high`` at the pixel centres ``start + 0.5 .. end - 0.5``."""
    f32 = np.float32
    centres = np.arange(start, end, dtype=f32) + f32(0.5)
    with np.errstate(divide='ignore', invalid='ignore'):
        grid = (centres - f32(low)) / (f32(high) - f32(low)) * f32(2) - f32(1)
    grid[np.isinf(grid)] = 0  # a box of no width, as mmdet sets it
    source = ((grid + f32(1)) * f32(size) - f32(1)) / f32(2)
    below = np.floor(source)
    frac = source - below
    weights = np.zeros((end - start, size), dtype=f32)
    rows = np.arange(end - start)
    for offset, weight in ((0, f32(1) - frac), (1, frac)):
        index = below + offset
        inside = (index >= 0) & (index <= size - 1)
        weights[rows[inside], index[inside].astype(np.int64)] += weight[inside]
    return weights


def paste_masks(masks: np.ndarray, boxes: np.ndarray, height: int, width: int,
                threshold: Optional[float] = 0.5) -> np.ndarray:
    """Paste per-detection mask probabilities into an image, as mmdet 3.3's
    ``FCNMaskHead._predict_by_feat_single`` does on the CPU (``_do_paste_mask`` with
    ``skip_empty``, one box at a time): each ``h x w`` mask is stretched over its box by
    bilinear sampling (``grid_sample``, ``align_corners=False``, zeros outside the mask)
    on the pixels of the box widened by one pixel and rounded outwards; other pixels are 0.

    Args:
        masks (np.ndarray): ``K x h x w`` probabilities (the exported ``masks`` output).
        boxes (np.ndarray): ``K x 4`` boxes, x1 y1 x2 y2 in the image's pixels (the exported
            ``boxes``, divided by the resize's scale factor for the original image).
        height (int): The image's height.
        width (int): The image's width.
        threshold (float, optional): mmdet's ``mask_thr_binary``: a pixel is in the mask when
            its probability is at least this. Defaults to 0.5; None returns the pasted
            probabilities (float32).

    Returns:
        np.ndarray: ``K x height x width`` masks, bool (float32 without ``threshold``).
    """
    masks = np.asarray(masks, dtype=np.float32)
    boxes = np.asarray(boxes, dtype=np.float32)
    if masks.ndim != 3 or boxes.shape != (len(masks), 4):
        raise ValueError(f'masks must be K x h x w and boxes K x 4, got {masks.shape} and '
                         f'{boxes.shape}')
    out = np.zeros((len(masks), int(height), int(width)), dtype=np.float32)
    for i, (mask, (x0, y0, x1, y1)) in enumerate(zip(masks, boxes)):
        left, top = max(math.floor(x0) - 1, 0), max(math.floor(y0) - 1, 0)
        right, bottom = min(math.ceil(x1) + 1, width), min(math.ceil(y1) + 1, height)
        if right <= left or bottom <= top:
            continue
        rows = _interpolation(top, bottom, y0, y1, mask.shape[0])
        cols = _interpolation(left, right, x0, x1, mask.shape[1])
        out[i, top:bottom, left:right] = rows @ mask @ cols.T
    return out if threshold is None else out >= threshold


def mmdet_predict(model, image: torch.Tensor) -> Dict[str, np.ndarray]:
    """mmdet's own prediction (``model.test_step``, what its inferencer runs) for one image
    given as the exported graph takes it (``1 x 3 x H x W`` float pixel values 0-255):
    ``boxes``, ``scores``, ``labels`` and, for Mask R-CNN, ``masks`` (``K x H x
    W`` bool, pasted by mmdet), in the input's pixels."""
    from mmdet.structures import DetDataSample
    h, w = image.shape[2:]
    meta = dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0))
    with torch.no_grad():
        found = model.test_step(dict(inputs=[image[0].float()],
                                     data_samples=[DetDataSample(metainfo=meta)]))
    pred = found[0].pred_instances
    out = dict(boxes=pred.bboxes.numpy(), scores=pred.scores.numpy(),
               labels=pred.labels.numpy())
    if 'masks' in pred:
        out['masks'] = pred.masks.numpy().astype(bool)
    return out


def run_onnx(session, image: torch.Tensor, threshold: float = 0.5) -> Dict[str, np.ndarray]:
    """The exported detector's outputs for ``image`` (``1 x 3 x H x W``) in the
    onnxruntime ``session``, by name; ``masks`` pasted into the image
    (:func:`paste_masks` at ``threshold``) and the probabilities as ``mask_probs``."""
    names = [o.name for o in session.get_outputs()]
    out = dict(zip(names, session.run(None, {session.get_inputs()[0].name:
                                             np.ascontiguousarray(image.numpy())})))
    if 'masks' in out:
        out['mask_probs'] = out['masks']
        pasted = paste_masks(out['masks'], out['boxes'], *image.shape[2:], threshold=None)
        out['masks'] = pasted >= threshold
        out['undecided'] = np.abs(pasted - threshold) < MASK_MARGIN
    return out


def mask_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of each pair of ``K x H x W`` bool masks (1 for two empty
    masks)."""
    inter = (a & b).reshape(len(a), -1).sum(1)
    union = (a | b).reshape(len(a), -1).sum(1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def match(got: Dict[str, np.ndarray], ref: Dict[str, np.ndarray],
          scores: float = DETECTION_TOLERANCE['scores']) -> np.ndarray:
    """The order of ``got``'s detections that pairs them with ``ref``'s: detection by
    detection, except that detections of the same label whose scores differ by at most
    ``scores`` may come in either order (the two sides' scores differ by float rounding, so
    two nearly equal scores may be ranked either way); each of ``ref``'s takes the
    unpaired one of those with the nearest box. Detections left unpaired keep their order."""
    n = min(len(got['scores']), len(ref['scores']))
    free = list(range(len(got['scores'])))
    order = []
    for i in range(n):
        near = [j for j in free if got['labels'][j] == ref['labels'][i] and
                abs(float(got['scores'][j]) - float(ref['scores'][i])) <= scores]
        if not near:
            near = [i] if i in free else free[:1]
        j = min(near, key=lambda j: float(np.abs(np.asarray(got['boxes'][j], np.float64) -
                                                   ref['boxes'][i]).max()))
        order.append(j)
        free.remove(j)
    return np.array(order + free, dtype=np.int64)


def compare(got: Dict[str, np.ndarray], ref: Dict[str, np.ndarray]) -> Dict[str, float]:
    """How far the detections ``got`` are from ``ref`` (both as :func:`run_onnx` and
    :func:`mmdet_predict` give them), detection by detection once paired (:func:`match`):
    ``count`` and ``ref_count``, ``labels_equal``, ``boxes`` and ``scores`` (the largest
    absolute difference), ``mask_iou`` (the smallest, 1.0 without masks; over the pixels
    whose probability is not within :data:`MASK_MARGIN` of the threshold) and
    ``mask_iou_all`` (over all pixels), ``reordered``
    (how many detections came in another order). With different counts the rest compares
    the first detections of both."""
    order = match(got, ref)
    got = {k: (v[order] if k in ('boxes', 'scores', 'labels', 'masks', 'undecided') else v)
           for k, v in got.items()}
    n = min(len(got['scores']), len(ref['scores']))
    diff = dict(count=len(got['scores']), ref_count=len(ref['scores']),
                labels_equal=bool(np.array_equal(got['labels'][:n], ref['labels'][:n])),
                reordered=int((order[:n] != np.arange(n)).sum()))
    for key in ('boxes', 'scores'):
        a, b = np.asarray(got[key][:n], np.float64), np.asarray(ref[key][:n], np.float64)
        diff[key] = float(np.abs(a - b).max()) if n else 0.0
    diff['mask_iou'] = diff['mask_iou_all'] = 1.0
    if 'masks' in ref and n:
        a, b = got['masks'][:n], ref['masks'][:n]
        diff['mask_iou_all'] = float(mask_iou(a, b).min())
        keep = ~got['undecided'][:n] if 'undecided' in got else np.ones_like(a)
        diff['mask_iou'] = float(mask_iou(a & keep, b & keep).min())
    return diff


def agrees(diff: Dict[str, float], boxes: float = DETECTION_TOLERANCE['boxes'],
           scores: float = DETECTION_TOLERANCE['scores'], iou: float = MASK_IOU) -> bool:
    """Whether :func:`compare`'s ``diff`` is within the bounds: the same count and labels,
    boxes within ``boxes`` pixels, scores within ``scores``, masks of IoU ``iou`` or more."""
    return (diff['count'] == diff['ref_count'] and diff['labels_equal'] and
            diff['boxes'] <= boxes and diff['scores'] <= scores and diff['mask_iou'] >= iou)


def describe(diff: Dict[str, float]) -> str:
    """:func:`compare`'s figures in words."""
    return (f'{diff["count"]} detections (mmdet: {diff["ref_count"]}), labels '
            f'{"equal" if diff["labels_equal"] else "differ"}, boxes within '
            f'{diff["boxes"]:.1e} px, scores within {diff["scores"]:.1e}, mask IoU at least '
            f'{diff["mask_iou"]:.4f} ({diff.get("mask_iou_all", 1.0):.4f} with the pixels '
            f'within {MASK_MARGIN:g} of the threshold)'
            + (f', {diff["reordered"]} detections of nearly equal scores in another order'
               if diff.get('reordered') else ''))


def check_detections(session_path: str, model, images: Sequence[torch.Tensor]) -> list:
    """:func:`compare` of the exported detector at ``session_path`` (onnxruntime, CPU) with
    mmdet's ``predict`` of ``model`` on each image of ``images`` (tensors ``N x 3 x H x
    W``, checked image by image)."""
    import onnxruntime as ort
    session = ort.InferenceSession(session_path, providers=['CPUExecutionProvider'])
    thr = model.test_cfg.rcnn.get('mask_thr_binary', 0.5)
    return [compare(run_onnx(session, x[i:i + 1], thr), mmdet_predict(model, x[i:i + 1]))
            for x in images for i in range(len(x))]
