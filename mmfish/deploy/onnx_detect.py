"""Run an exported two-stage detector (``tools/export.py``, :mod:`.detector`) in onnxruntime
on image files as mmdet's ``DetInferencer`` runs the PyTorch model, and draw the result with
the config's own visualiser: the config's test pipeline prepares each image (its ``Resize``),
the graph detects, the boxes are scaled back to the original image by the pipeline's scale
factor and the masks pasted there (:func:`.detections.paste_masks`, ``mask_thr_binary``), as
mmdet's ``predict(rescale=True)`` does; the picture is drawn by ``add_datasample`` with the
arguments ``DetInferencer.visualize`` gives it."""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch

__all__ = ['OnnxDetector']


def _test_pipeline(cfg) -> list:
    """The config's test pipeline without its annotation loading (as ``DetInferencer``
    builds it)."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if loader is None:
        raise ValueError('the config has no test_dataloader (or val_dataloader) whose '
                         'pipeline prepares the images')
    return [dict(step) for step in loader.dataset.pipeline
            if step['type'].split('.')[-1] != 'LoadAnnotations']


def dataset_meta(cfg) -> dict:
    """The classes and palette the pictures are drawn with: the test dataset's
    ``metainfo`` in the config, else its dataset class's ``METAINFO``."""
    from mmdet.registry import DATASETS
    dataset = (cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}).get('dataset', {})
    meta = dict(dataset.get('metainfo') or {})
    if 'classes' not in meta and 'type' in dataset:
        meta = dict(DATASETS.get(dataset['type']).METAINFO, **meta)
    return meta


class OnnxDetector:
    """An exported detector in onnxruntime (CPU) with its config's test pipeline and
    visualiser.

    Args:
        model (str): The ``.onnx`` file ``tools/export.py`` wrote for the config.
        config (str | mmengine.Config): The config it was exported from.
        threads (int, optional): onnxruntime's intra-op threads. Defaults to None
            (onnxruntime's choice).
    """

    def __init__(self, model: str, config, threads: Optional[int] = None):
        import onnxruntime as ort
        from mmengine.dataset import Compose
        from mmengine.registry import DefaultScope

        from .build import read_config
        self.cfg = read_config(config)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        self.session = ort.InferenceSession(str(model), options,
                                            providers=['CPUExecutionProvider'])
        names = [o.name for o in self.session.get_outputs()]
        if names[:3] != ['boxes', 'scores', 'labels']:
            raise ValueError(f'{model} gives {names}, not a whole detector\'s boxes, scores, '
                             f'labels[, masks]: export it with tools/export.py (no --part)')
        self.with_mask = 'masks' in names
        rcnn = self.cfg.model.get('test_cfg', {}).get('rcnn', {})
        self.mask_thr = rcnn.get('mask_thr_binary', 0.5)
        with DefaultScope.overwrite_default_scope('mmdet'):
            import mmdet.datasets  # noqa: F401  (registers the transforms)
            import mmdet.visualization  # noqa: F401
            self.pipeline = Compose(_test_pipeline(self.cfg))
        self.meta = dataset_meta(self.cfg)

    def __call__(self, image: str):
        """The ``DetDataSample`` of the image file ``image`` (``pred_instances``: ``bboxes``,
        ``scores``, ``labels`` and, for Mask R-CNN, ``masks``, in the image's pixels)."""
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData

        from .detections import paste_masks
        data = self.pipeline(dict(img_path=str(image), img_id=0))
        sample = data['data_samples']
        pixels = data['inputs'].float()[None].numpy()
        out = dict(zip([o.name for o in self.session.get_outputs()],
                       self.session.run(None, {self.session.get_inputs()[0].name: pixels})))
        sx, sy = sample.metainfo.get('scale_factor', (1.0, 1.0))
        boxes = out['boxes'] / np.array([sx, sy, sx, sy], dtype=np.float32)
        pred = InstanceData(bboxes=torch.from_numpy(boxes), scores=torch.from_numpy(out['scores']),
                            labels=torch.from_numpy(out['labels']))
        if self.with_mask:
            h, w = sample.metainfo['ori_shape'][:2]
            pred.masks = torch.from_numpy(paste_masks(out['masks'], boxes, h, w,
                                                      self.mask_thr))
        result = DetDataSample(metainfo=sample.metainfo)
        result.pred_instances = pred
        return result

    def visualizer(self):
        """The config's visualiser (mmdet ``DetLocalVisualizer``) with :func:`dataset_meta`."""
        from mmdet.registry import VISUALIZERS
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('mmdet'):
            cfg = dict(self.cfg.get('visualizer') or dict(type='DetLocalVisualizer'))
            cfg['name'] = f'mmfish_onnx_{id(self)}'  # a new instance, not a shared one
            vis = VISUALIZERS.build(cfg)
        vis.dataset_meta = self.meta
        return vis

    def run(self, images: Sequence[str], out_dir: Optional[str] = None,
            score_thr: float = 0.3) -> List[dict]:
        """Detect on each image file; with ``out_dir``, draw each into
        ``<out_dir>/vis/<file name>`` as ``DetInferencer`` draws (``pred_score_thr``
        ``score_thr``). Returns per image ``labels``, ``scores``, ``bboxes`` (lists, as
        ``DetInferencer`` gives them), ``masks`` (bool arrays) and ``picture``."""
        import mmcv
        vis = self.visualizer() if out_dir else None
        results = []
        for image in images:
            sample = self(image)
            pred = sample.pred_instances
            picture = None
            if vis is not None:
                picture = osp.join(out_dir, 'vis', osp.basename(str(image)))
                img = mmcv.imconvert(mmcv.imread(str(image)), 'bgr', 'rgb')
                vis.add_datasample(osp.basename(str(image)), img, sample, draw_gt=False,
                                   show=False, wait_time=0, out_file=picture,
                                   pred_score_thr=score_thr)
            results.append(dict(labels=pred.labels.tolist(), scores=pred.scores.tolist(),
                                bboxes=pred.bboxes.tolist(),
                                masks=pred.masks.numpy() if 'masks' in pred else None,
                                picture=picture))
        return results
