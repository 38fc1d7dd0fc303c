"""A whole detector's latency: mmdet's own ``predict`` (``test_step``, PyTorch eager, the masks
pasted by mmdet) against the graph :func:`mmfish.deploy.export_whole` exports for it, run by
onnxruntime on the CPU (its masks pasted by :func:`mmfish.deploy.detections.paste_masks`),
one image per run, interleaved repeats with the same threads (``tools/benchmark.py
--detector CONFIG --also onnx``)."""
import os
import statistics
import tempfile
from pathlib import Path
from typing import Callable, List, Optional

import torch
import torch.nn as nn

from .core import OrtModel, Row, time_interleaved

#: the rows' implementations
PREDICT, ONNX = 'mmdet predict', 'mmfish ONNX Runtime'


class Predict(nn.Module):
    """mmdet's ``predict`` of ``model`` for one image (``1 x 3 x H x W``, pixels 0-255), as
    its inferencer runs it (:func:`mmfish.deploy.detections.mmdet_predict`)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        from mmfish.deploy.detections import mmdet_predict
        return tuple(torch.from_numpy(v) for v in mmdet_predict(self.model, x).values())


class OrtDetector(OrtModel):
    """The exported detector in onnxruntime (:class:`.core.OrtModel`), its masks pasted into
    the image as mmdet pastes them, so that both rows deliver the same detections."""

    def forward(self, x):
        from mmfish.deploy.detections import run_onnx
        return tuple(torch.from_numpy(v) for v in run_onnx(self.session, x).values())


def benchmark_detector(config: str, checkpoint: Optional[str] = None, size: int = 128,
                       repeats: int = 10, warmup: int = 2, seed: int = 0,
                       log: Callable[[str], None] = print) -> List[Row]:
    """Rows ``mmdet predict`` and ``mmfish ONNX Runtime`` of the detector of ``config``
    (weights from ``checkpoint``, else the config's initial ones): exported at ``size`` x
    ``size`` and checked against ``predict`` by :func:`mmfish.deploy.export_whole`
    (``max_rel_err`` of the ONNX row: its largest box or score difference), then both timed
    in eval on one random image of that size, ``repeats`` interleaved runs each. A config
    that is not a detector raises ValueError."""
    from mmfish.deploy import export_whole, load_model
    from mmfish.deploy.whole import random_images
    model, cfg, task = load_model(config, checkpoint)
    if task != 'detector':
        raise ValueError(f'{config} is a {task}, not a detector: give a detector config '
                         f'(Faster, Mask or Cascade R-CNN)')
    subject = Path(str(config)).stem
    log(f'== {subject}')
    x = random_images((size, size), seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        result = export_whole(cfg, os.path.join(tmp, 'model.onnx'), model=model, inputs=[x])
        ort_model = OrtDetector(result['path'])  # the session holds the graph
    log(f'  {ONNX}: exported, checked against mmdet\'s predict: largest box (relative to the '
        f'side) or score difference {result["max_rel_err"]:.1e}')
    models = {PREDICT: Predict(model), ONNX: ort_model}
    times = time_interleaved(models, x, 'eval', repeats, warmup, log)
    params = sum(p.numel() for p in model.parameters())
    return [Row(subject, PREDICT, params=params, eval_s=times[PREDICT]),
            Row(subject, ONNX, eval_s=times[ONNX], max_rel_err=result['max_rel_err'])]


def _quartiles(times: List[float]) -> tuple:
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    return q[0], q[2]


def detector_markdown(rows: List[Row], settings: dict) -> str:
    """The detector rows as a markdown table: milliseconds per image (median and
    interquartile range, the run's noise) and the speed-up of ONNX Runtime over
    ``predict``."""
    m = settings['machine']
    lines = [f'**Detector, CPU {m.get("isa") or "ISA not recorded"}, fp32.** {m["cpu"]}, '
             f'{m["threads"]} torch threads (onnxruntime: as many intra-op threads, no '
             f'spin-waiting), torch {m["torch"]}, onnxruntime {m.get("onnxruntime")}, '
             f'{m["date"]}. One random image of {settings["size"]}x{settings["size"]} per run, '
             f'{settings["repeats"]} interleaved repeats after {settings["warmup"]} warm-up '
             f'runs. "{PREDICT}": mmdet\'s `test_step` (PyTorch eager, masks pasted by mmdet); '
             f'"{ONNX}": the graph `export_whole` exports and checks, in onnxruntime, masks '
             f'pasted by `paste_masks`.', '',
             '| model | implementation | ms per image (median) | interquartile (ms) '
             '| speed-up over predict | check error |', '|---|---|---:|---:|---:|---:|']
    by_subject = {}
    for r in rows:
        by_subject.setdefault(r.subject, {})[r.impl] = r
    for subject, found in by_subject.items():
        base = statistics.median(found[PREDICT].eval_s) if PREDICT in found else None
        for r in found.values():
            med = statistics.median(r.eval_s)
            low, high = _quartiles(r.eval_s)
            ratio = f'{base / med:.2f}x' if base and r.impl != PREDICT else ''
            err = '' if r.max_rel_err is None else f'{r.max_rel_err:.1e}'
            lines.append(f'| {subject} | {r.impl} | {med * 1e3:.1f} | {low * 1e3:.1f}-'
                         f'{high * 1e3:.1f} | {ratio} | {err} |')
    return '\n'.join(lines)
