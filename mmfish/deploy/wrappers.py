"""The tensor-in, tensor-out modules exported for each task (:func:`wrap`): the toolbox's
model, which is used as it is, behind the config's data preprocessor; and the portable
adaptive pool that keeps a graph right at every input size (:func:`portable`)."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from .build import PARTS, UnsupportedConfig
from .cascade import CascadeDetector
from .detector import TwoStageDetector
from .preprocess import Preprocess

__all__ = ['AdaptiveAvgPool2d', 'Classifier', 'DetectorRPN', 'Pose', 'Segmenter', 'check_ops',
           'portable', 'wrap']


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


def check_ops(model: nn.Module) -> None:
    """Raise :class:`.build.UnsupportedConfig` when ``model`` holds mmcv's deformable
    convolutions (the ``dcn`` of mmfish's ``mdconv`` and ``dconv`` detector configs): their
    C++ kernels are not torch operators, so ``torch.export`` fails on them ("tracing into a
    custom kernel")."""
    found = sorted({type(m).__name__ for m in model.modules()
                    if 'DeformConv' in type(m).__name__})
    if found:
        raise UnsupportedConfig(f'cannot export mmcv\'s deformable convolutions '
                                f'({", ".join(found)}): torch.export cannot trace their C++ '
                                f'kernels; export the config without DCN')


def wrap(model: nn.Module, task: str, part: str = 'default') -> nn.Module:
    """The tensor-in, tensor-out module that is exported for ``model`` of ``task``
    (:data:`.build.TASKS`); its ``outputs`` attribute names the outputs. A detector is its whole
    ``predict`` (:class:`.detector.TwoStageDetector`, :class:`.cascade.CascadeDetector` for a
    ``CascadeRoIHead``); ``part='rpn'`` its backbone, neck and
    RPN head (:class:`DetectorRPN`)."""
    if task not in _WRAPPERS and task != 'detector':
        raise ValueError(f'unknown task {task!r}; valid: {", ".join(_WRAPPERS)}, detector')
    if part not in PARTS:
        raise ValueError(f'unknown part {part!r}; valid: {", ".join(PARTS)}')
    check_ops(model)
    if task == 'detector':
        if part == 'rpn':
            return DetectorRPN(model).eval()
        cascade = type(getattr(model, 'roi_head', None)).__name__ == CascadeDetector.ROI_HEAD
        return (CascadeDetector if cascade else TwoStageDetector)(model).eval()
    if part != 'default':
        raise ValueError(f"part='{part}' is a detector's backbone, neck and RPN head; a "
                         f"{task} is exported whole (part='default')")
    return _WRAPPERS[task](model).eval()
