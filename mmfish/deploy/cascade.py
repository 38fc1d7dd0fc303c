"""A Cascade (Mask) R-CNN whole (mmdet ``CascadeRCNN`` with a ``CascadeRoIHead``), as graph
operations that torch.onnx exports: :class:`.detector.TwoStageDetector`'s preprocessing,
backbone, neck and RPN proposals, then mmdet 3.3's ``CascadeRoIHead.predict`` for one image:

1. ``_refine_roi``: for each stage ``i`` of ``num_stages``, RoIAlign of the current boxes
   (the proposals at stage 0) through stage ``i``'s extractor and its box head's
   ``(cls_score, bbox_pred)``; before the last stage the boxes are refined by
   ``BBoxHead.regress_by_class``: the deltas of the class ``cls_score[:, :-1].argmax(1)``
   (all deltas with ``reg_class_agnostic``, as mmfish's cascade configs have) decoded on
   the boxes with stage ``i``'s coder and clipped to the image;
2. the stages' ``cls_score`` logits averaged (``sum / num_stages``, before any softmax) and
   the last stage's ``predict_by_feat`` on the boxes that entered it: softmax of the
   average, decoding with the last stage's coder, ``multiclass_nms`` with
   ``test_cfg.rcnn``;
3. Cascade Mask R-CNN, ``predict_mask``: every stage's mask head on the detections' boxes,
   each stage's sigmoid, and their mean (``merge_aug_masks`` without weights or flips), of
   each detection's label: ``masks``, ``K x 28 x 28`` probabilities.

Outputs as :class:`.detector.TwoStageDetector`'s.
"""
import torch

from .detector import TwoStageDetector, stages

__all__ = ['CascadeDetector']


class CascadeDetector(TwoStageDetector):
    """``image -> (boxes, scores, labels[, masks])``: an mmdet Cascade (Mask) R-CNN's
    ``predict`` for one image (module docstring), on the modules of ``model``, which is left
    as it is.

    Args:
        model (nn.Module): An mmdet ``CascadeRCNN`` with a ``CascadeRoIHead`` whose stages
            pass :func:`.detector.check_detector`, in eval mode.
    """

    ROI_HEAD = 'CascadeRoIHead'

    def detections(self, feats, proposals: torch.Tensor, size):
        """``CascadeRoIHead.predict_bbox``: ``(boxes, scores, labels)`` after the stages
        and ``multiclass_nms``."""
        heads = [stage[1] for stage in stages(self.model.roi_head)]
        rois, scores = proposals, []
        for i, head in enumerate(heads):
            cls_score, bbox_pred = self.box_head(i, feats, rois)
            scores.append(cls_score)
            if i < len(heads) - 1:
                if not head.reg_class_agnostic:  # the deltas of the best class
                    label = cls_score[:, :-1].argmax(dim=1)
                    index = (label * 4).view(-1, 1) + torch.arange(4, device=label.device)
                    bbox_pred = bbox_pred.gather(1, index)
                rois = self.decode(head, rois, bbox_pred, size)[:, 0]
        # mmdet: sum([score for each stage]) / float(num_stages), the sum starting at 0
        average = sum(scores) / float(len(scores))
        return self.postprocess(heads[-1], rois, average, bbox_pred, size)

    def masks(self, feats, boxes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The mean of the stages' mask probabilities (``K x h x w``) of each box's label."""
        probs = [self.mask_probs(i, feats, boxes, labels)
                 for i in range(len(stages(self.model.roi_head)))]
        return torch.stack(probs).mean(dim=0)
