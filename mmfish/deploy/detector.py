"""A two-stage mmdet detector (``FasterRCNN``, ``MaskRCNN``; ``CascadeRCNN``:
:mod:`.cascade`) whole, as graph operations that torch.onnx exports: the post-processing of
mmdet 3.3's ``predict`` written again with operations that have ONNX translations
(``torchvision::nms`` to ``NonMaxSuppression``, ``torchvision::roi_align`` to ``RoiAlign``
with ``half_pixel`` coordinates, mmcv's ``aligned=True``), on the toolbox's own submodules,
which are used as they are.

What :class:`TwoStageDetector` computes for one image (``1 x 3 x H x W``, float pixel
values 0-255 in the pipeline's channel order), step by step as mmdet computes it:

1. the config's data preprocessor (channel flip, mean and standard deviation) and its
   padding of the bottom and right to a multiple of ``pad_size_divisor`` (value
   ``pad_value``), as ``DetDataPreprocessor`` pads a batch;
2. backbone, neck and RPN head; anchors of every level from the head's prior generator for
   the level's feature size (``AnchorGenerator.single_level_grid_priors``);
3. ``RPNHead._predict_by_feat_single``: per level, the sigmoid scores ranked and the first
   ``nms_pre`` kept; ``DeltaXYWHBBoxCoder.decode`` (means, stds, ``wh_ratio_clip``
   16/1000, ``add_ctr_clamp``, boxes clipped to the unpadded image); boxes of width or
   height not above ``min_bbox_size`` dropped; NMS over all levels with the level as class
   (mmcv's ``batched_nms``: boxes offset by ``level x (largest coordinate + 1)``) at
   ``nms.iou_threshold``; the first ``max_per_img`` proposals;
4. ``StandardRoIHead.predict_bbox``: RoIAlign of every proposal on the FPN level that
   ``SingleRoIExtractor.map_roi_levels`` gives it (``finest_scale``), the box head, the
   softmax, per-class decoding, scores above ``score_thr``, per-class NMS
   (``multiclass_nms``: ``batched_nms`` with the label as class) and the first
   ``max_per_img`` detections;
5. Mask R-CNN: RoIAlign of the detections' boxes for the mask head, the mask of each
   detection's label, sigmoid: ``masks``, ``K x 28 x 28`` probabilities, which
   :func:`mmfish.deploy.masks.paste_masks` pastes into the image as mmdet does.

The outputs: ``boxes`` (``K x 4``, x1 y1 x2 y2 in input-image pixels), ``scores`` (``K``),
``labels`` (``K``, int64) and, for Mask R-CNN, ``masks``. ``K`` depends on the image. The
batch is one image per run; height and width are dynamic.
"""
import math
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import nms, roi_align

from .preprocess import Preprocess

__all__ = ['ROI_HEADS', 'TwoStageDetector', 'UnsupportedDetector', 'check_detector', 'stages']

#: mmcv ``batched_nms`` runs one NMS with class offsets below this many boxes, else one NMS
#: per class; :class:`TwoStageDetector` always uses the offsets
SPLIT_THR = 10000


class UnsupportedDetector(ValueError):
    """A detector whose heads :class:`TwoStageDetector` does not compute as mmdet does."""


def _type(module) -> str:
    return type(module).__name__


#: the RoI heads whose post-processing is reproduced: :class:`TwoStageDetector` computes a
#: ``StandardRoIHead``'s, :class:`.cascade.CascadeDetector` a ``CascadeRoIHead``'s
ROI_HEADS = ('StandardRoIHead', 'CascadeRoIHead')


def stages(roi) -> list:
    """``(bbox_roi_extractor, bbox_head, mask_roi_extractor, mask_head)`` of each stage of
    the RoI head ``roi`` (one for a ``StandardRoIHead``, ``num_stages`` for a
    ``CascadeRoIHead``); the mask's are None without a mask head, and the mask extractor is
    the box's where the head shares it."""
    if _type(roi) == 'CascadeRoIHead':
        return [(roi.bbox_roi_extractor[i], roi.bbox_head[i],
                 roi.mask_roi_extractor[i] if roi.with_mask else None,
                 roi.mask_head[i] if roi.with_mask else None) for i in range(roi.num_stages)]
    mask_ext = (roi.bbox_roi_extractor if roi.share_roi_extractor else
                roi.mask_roi_extractor) if roi.with_mask else None
    return [(roi.bbox_roi_extractor, roi.bbox_head, mask_ext,
             roi.mask_head if roi.with_mask else None)]


def _check_stage(i: int, n: int, stage) -> list:
    """What in stage ``i`` (of ``n``) the graph does not compute as mmdet does."""
    bbox_ext, head, mask_ext, mask_head = stage
    at = f' of stage {i}' if n > 1 else ''
    problems = []
    if _type(head.bbox_coder) != 'DeltaXYWHBBoxCoder':
        problems.append(f'the box head{at}\'s box coder is {_type(head.bbox_coder)}, not '
                        f'DeltaXYWHBBoxCoder')
    if getattr(head, 'custom_cls_channels', False) or \
            getattr(head, 'custom_activation', False) or not head.with_reg:
        problems.append(f'the box head{at} needs softmax scores and box regression')
    for ext in [bbox_ext] + ([mask_ext] if mask_ext is not None else []):
        if _type(ext) != 'SingleRoIExtractor' or \
                any(_type(layer) != 'RoIAlign' or not layer.aligned or
                    layer.pool_mode != 'avg' for layer in ext.roi_layers):
            problems.append(f'the RoI extractors{at} must be SingleRoIExtractor of RoIAlign '
                            "(aligned=True, pool_mode='avg')")
    if mask_head is not None and _type(mask_head) != 'FCNMaskHead':
        problems.append(f'the mask head{at} is {_type(mask_head)}, not FCNMaskHead')
    return problems


def check_detector(model: nn.Module, roi_heads: Sequence[str] = ROI_HEADS) -> None:
    """Raise :class:`UnsupportedDetector`, saying what differs, unless ``model`` is a
    two-stage detector whose post-processing is reproduced: an ``RPNHead`` (sigmoid scores,
    ``AnchorGenerator``, ``DeltaXYWHBBoxCoder``), an RoI head of ``roi_heads``
    (``StandardRoIHead``; ``CascadeRoIHead``, whose every stage is checked) with box heads of
    ``DeltaXYWHBBoxCoder`` and softmax scores, ``SingleRoIExtractor``\\ s of ``RoIAlign``
    layers, ``FCNMaskHead``\\ s or none, and per-class NMS in ``test_cfg``."""
    rpn, roi = getattr(model, 'rpn_head', None), getattr(model, 'roi_head', None)
    problems = []
    if _type(rpn) != 'RPNHead':
        problems.append(f'rpn_head is {_type(rpn)}, not RPNHead')
    if _type(roi) not in roi_heads:
        problems.append(f'roi_head is {_type(roi)}, not {" or ".join(roi_heads)}')
    if not problems:
        if not rpn.use_sigmoid_cls or _type(rpn.prior_generator) != 'AnchorGenerator':
            problems.append('the RPN head needs sigmoid scores and an AnchorGenerator')
        if _type(rpn.bbox_coder) != 'DeltaXYWHBBoxCoder':
            problems.append(f'the RPN head\'s box coder is {_type(rpn.bbox_coder)}, not '
                            f'DeltaXYWHBBoxCoder')
        found = stages(roi)
        for i, stage in enumerate(found):
            problems.extend(_check_stage(i, len(found), stage))
        for name, cfg in (('rpn', model.test_cfg.rpn), ('rcnn', model.test_cfg.rcnn)):
            nms = cfg.get('nms') or {}
            if nms.get('type', 'nms') != 'nms' or nms.get('class_agnostic', False):
                problems.append(f"test_cfg.{name}.nms must be type 'nms' (per class), got "
                                f'{dict(nms)}')
    if problems:
        raise UnsupportedDetector(f'cannot export the whole {_type(model)}: '
                                  f'{"; ".join(problems)}; exported whole are Faster, Mask, '
                                  f'Cascade and Cascade Mask R-CNN with mmdet\'s standard '
                                  f'heads')


def delta2bbox(rois: torch.Tensor, deltas: torch.Tensor, coder, size: Tuple,
               wh_ratio_clip: float = 16 / 1000) -> torch.Tensor:
    """mmdet's ``delta2bbox`` for ``N x 4`` ``rois`` and ``N x 4`` ``deltas``, with the
    ``means``, ``stds``, ``add_ctr_clamp``, ``ctr_clamp`` and ``clip_border`` of ``coder``
    (a ``DeltaXYWHBBoxCoder``); boxes clipped to ``size`` (height, width), in the same order
    of operations."""
    means = deltas.new_tensor(coder.means).view(1, -1)
    stds = deltas.new_tensor(coder.stds).view(1, -1)
    denorm = deltas * stds + means
    dxy, dwh = denorm[:, :2], denorm[:, 2:]
    pxy = (rois[:, :2] + rois[:, 2:]) * 0.5
    pwh = rois[:, 2:] - rois[:, :2]
    dxy_wh = pwh * dxy
    max_ratio = abs(math.log(wh_ratio_clip))
    if coder.add_ctr_clamp:
        dxy_wh = torch.clamp(dxy_wh, max=coder.ctr_clamp, min=-coder.ctr_clamp)
        dwh = torch.clamp(dwh, max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)
    if coder.clip_border:
        h, w = size
        boxes = torch.stack([boxes[:, 0].clamp(min=0, max=w), boxes[:, 1].clamp(min=0, max=h),
                             boxes[:, 2].clamp(min=0, max=w), boxes[:, 3].clamp(min=0, max=h)],
                            dim=1)
    return boxes


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """The indices mmcv's ``batched_nms`` keeps (with fewer boxes than its ``split_thr``):
    NMS of the boxes offset by ``class x (largest coordinate + 1)``, by decreasing score."""
    # the largest coordinate; -inf (no offset used) when there is no box
    largest = torch.cat([boxes.reshape(-1), boxes.new_full((1, ), float('-inf'))]).max()
    offsets = idxs.to(boxes) * (largest + torch.tensor(1).to(boxes))
    return nms(boxes + offsets[:, None], scores, iou_threshold)


class TwoStageDetector(nn.Module):
    """``image -> (boxes, scores, labels[, masks])``: an mmdet Faster or Mask R-CNN's
    ``predict`` for one image (module docstring), on the modules of ``model``, which is left
    as it is.

    Args:
        model (nn.Module): An mmdet ``FasterRCNN`` or ``MaskRCNN`` (other two-stage
            detectors with the same heads too: :func:`check_detector`) in eval mode.
    """

    #: the RoI head whose ``predict`` this class computes
    ROI_HEAD = 'StandardRoIHead'

    def __init__(self, model: nn.Module):
        super().__init__()
        check_detector(model, (self.ROI_HEAD, ))
        self.model, self.pre = model, Preprocess(model.data_preprocessor)
        self.divisor = int(getattr(model.data_preprocessor, 'pad_size_divisor', 1) or 1)
        self.pad_value = float(getattr(model.data_preprocessor, 'pad_value', 0) or 0)
        self.rpn_cfg, self.rcnn_cfg = model.test_cfg.rpn, model.test_cfg.rcnn
        self.with_mask = bool(model.roi_head.with_mask)
        self.outputs = ('boxes', 'scores', 'labels') + (('masks', ) if self.with_mask else ())
        generator = model.rpn_head.prior_generator
        for i, anchors in enumerate(generator.base_anchors):
            self.register_buffer(f'base_anchors{i}', anchors.detach().clone(),
                                 persistent=False)
        self.strides = [tuple(float(s) for s in stride) for stride in generator.strides]

    # -- stage 1 --------------------------------------------------------------------------
    def anchors(self, level: int, feat: torch.Tensor) -> torch.Tensor:
        """``AnchorGenerator.single_level_grid_priors`` for the feature map ``feat``."""
        base = getattr(self, f'base_anchors{level}')
        stride_w, stride_h = self.strides[level]
        shift_x = torch.arange(feat.shape[-1], device=feat.device).to(base.dtype) * stride_w
        shift_y = torch.arange(feat.shape[-2], device=feat.device).to(base.dtype) * stride_h
        xx = shift_x.repeat(shift_y.shape[0])
        yy = shift_y.view(-1, 1).repeat(1, shift_x.shape[0]).view(-1)
        shifts = torch.stack([xx, yy, xx, yy], dim=-1)
        return (base[None, :, :] + shifts[:, None, :]).view(-1, 4)

    def proposals(self, cls_scores: Sequence[torch.Tensor], bbox_preds: Sequence[torch.Tensor],
                  size) -> torch.Tensor:
        """The RPN's proposals (``P x 4``) of image ``0``."""
        cfg, head = self.rpn_cfg, self.model.rpn_head
        nms_pre = cfg.get('nms_pre', -1)
        boxes, scores, levels = [], [], []
        for i, (cls, reg) in enumerate(zip(cls_scores, bbox_preds)):
            deltas = reg[0].permute(1, 2, 0).reshape(-1, 4)
            score = cls[0].permute(1, 2, 0).reshape(-1).sigmoid()
            anchors = self.anchors(i, cls)
            score, order = score.sort(descending=True)
            if nms_pre > 0:
                score, order = score[:nms_pre], order[:nms_pre]
            boxes.append(delta2bbox(anchors[order], deltas[order], head.bbox_coder, size))
            scores.append(score)
            levels.append(torch.full_like(order, i))
        boxes, scores, levels = torch.cat(boxes), torch.cat(scores), torch.cat(levels)
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            valid = ((boxes[:, 2] - boxes[:, 0]) > min_size) & \
                ((boxes[:, 3] - boxes[:, 1]) > min_size)
            boxes, scores, levels = boxes[valid], scores[valid], levels[valid]
        keep = batched_nms(boxes, scores, levels, cfg.nms.iou_threshold)
        return boxes[keep[:cfg.max_per_img]]

    # -- stage 2 --------------------------------------------------------------------------
    @staticmethod
    def roi_features(extractor, feats: Sequence[torch.Tensor],
                     boxes: torch.Tensor) -> torch.Tensor:
        """``SingleRoIExtractor.forward`` for the boxes of image 0: each box pooled
        (``torchvision.ops.roi_align``, ``aligned=True``) on the level ``map_roi_levels``
        gives it."""
        feats = feats[:extractor.num_inputs]
        rois = torch.cat([boxes.new_zeros(boxes.shape[0], 1), boxes], dim=1)
        scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
        target = torch.floor(torch.log2(scale / extractor.finest_scale + 1e-6))
        target = target.clamp(min=0, max=len(feats) - 1).long()
        out = None
        for i, (feat, layer) in enumerate(zip(feats, extractor.roi_layers)):
            pooled = roi_align(feat, rois, layer.output_size, layer.spatial_scale,
                               layer.sampling_ratio, aligned=True)
            pooled = torch.where((target == i).view(-1, 1, 1, 1), pooled,
                                 torch.zeros_like(pooled))
            out = pooled if out is None else out + pooled
        return out

    def box_head(self, stage: int, feats, rois: torch.Tensor):
        """``(cls_score, bbox_pred)`` of stage ``stage``'s box head on ``rois``
        (``N x 4``)."""
        extractor, head = stages(self.model.roi_head)[stage][:2]
        return head(self.roi_features(extractor, feats, rois))

    def decode(self, head, rois: torch.Tensor, bbox_pred: torch.Tensor, size):
        """``head.bbox_coder.decode`` of ``bbox_pred`` (``N x 4`` or ``N x 4C``) on
        ``rois``: ``N x C x 4`` boxes (``C`` 1 for class-agnostic regression)."""
        reg_classes = bbox_pred.shape[1] // 4
        rois = rois.repeat_interleave(reg_classes, dim=0)
        boxes = delta2bbox(rois, bbox_pred.reshape(-1, 4), head.bbox_coder, size)
        return boxes.view(-1, reg_classes, 4)

    def postprocess(self, head, rois: torch.Tensor, cls_score: torch.Tensor,
                    bbox_pred: torch.Tensor, size):
        """``BBoxHead._predict_by_feat_single`` of ``head``: ``(boxes, scores, labels)``
        after the softmax, the decoding and ``multiclass_nms`` with ``test_cfg.rcnn``."""
        cfg = self.rcnn_cfg
        scores = F.softmax(cls_score, dim=-1)[:, :-1]
        classes = scores.shape[1]
        boxes = self.decode(head, rois, bbox_pred, size)
        boxes = boxes.expand(-1, classes, 4).reshape(-1, 4)
        labels = torch.arange(classes, device=scores.device).view(1, -1)
        labels = labels.expand_as(scores).reshape(-1)
        scores = scores.reshape(-1)
        valid = scores > cfg.score_thr
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = batched_nms(boxes, scores, labels, cfg.nms.iou_threshold)
        if cfg.max_per_img > 0:
            keep = keep[:cfg.max_per_img]
        return boxes[keep], scores[keep], labels[keep]

    def detections(self, feats, proposals: torch.Tensor, size):
        """``(boxes, scores, labels)`` of the box head on ``proposals``, after
        ``multiclass_nms``."""
        cls_score, bbox_pred = self.box_head(0, feats, proposals)
        return self.postprocess(self.model.roi_head.bbox_head, proposals, cls_score,
                                bbox_pred, size)

    def mask_probs(self, stage: int, feats, boxes: torch.Tensor,
                   labels: torch.Tensor) -> torch.Tensor:
        """Stage ``stage``'s mask head's probabilities (``K x h x w``) of each box's
        label."""
        _, _, extractor, head = stages(self.model.roi_head)[stage]
        logits = head(self.roi_features(extractor, feats, boxes))
        if not head.class_agnostic:
            index = labels.view(-1, 1, 1, 1).expand(-1, 1, *logits.shape[2:])
            logits = logits.gather(1, index)
        return logits[:, 0].sigmoid()

    def masks(self, feats, boxes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The mask head's probabilities (``K x h x w``) of each box's label."""
        return self.mask_probs(0, feats, boxes, labels)

    def forward(self, x: torch.Tensor):
        h, w = size = tuple(x.shape[2:])
        x = self.pre(x)
        if self.divisor > 1:
            d = self.divisor
            x = F.pad(x, (0, (d - w % d) % d, 0, (d - h % d) % d), value=self.pad_value)
        feats = self.model.extract_feat(x)
        proposals = self.proposals(*self.model.rpn_head(feats), size)
        boxes, scores, labels = self.detections(feats, proposals, size)
        if not self.with_mask:
            return boxes, scores, labels
        return boxes, scores, labels, self.masks(feats, boxes, labels)
