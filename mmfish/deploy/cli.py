"""The command line of ``tools/export.py``: export a whole model from an mmfish config to
ONNX and check it in onnxruntime against PyTorch (:func:`.whole.export_whole`)."""
import argparse
import sys

from .export import MAX_BATCH, check_input_size, valid_input_range
from .build import PARTS

__all__ = ['main']

DESCRIPTION = f"""Export the model of an mmfish config to ONNX and check it in onnxruntime
against PyTorch (largest relative output error 1e-4, and no NaN or infinite output; at two
input sizes when dynamic). A classifier gives logits and their softmax, a segmenter per-pixel
logits (dynamic height and width), a top-down pose model heatmaps, a Mask, Faster or Cascade
(Mask) R-CNN its whole predict for one image (boxes, scores, labels, and 28x28 mask
probabilities; dynamic height and width; checked against mmdet's own predict: the same
detections, boxes within 0.01 pixel, scores within 1e-4, pasted masks of IoU 0.99 or more),
or with --part rpn its backbone, neck and RPN head. The model is built as MMEngine's Runner
builds it (the config's top-level data_preprocessor merged). The input is float32 N x 3 x H x
W pixel values 0-255 in the config's loading order (BGR); the graph flips and normalises them
as the config does.
Valid input: {valid_input_range()}. Exit status 0: exported and checked; 1: refused or
failed, nothing written; 2: bad arguments."""


def parser() -> argparse.ArgumentParser:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(prog='tools/export.py', description=DESCRIPTION)
    p.add_argument('config', help='an mmfish config (configs/...)')
    p.add_argument('checkpoint', nargs='?',
                   help='weights to load: a checkpoint file or a name such as '
                        'mmfish://resnest50 or mmfish://<toolbox>/<model> (default: none, the '
                        "config's initial weights)")
    p.add_argument('--out', required=True,
                   help='the .onnx file to write (atomically; never the config or checkpoint)')
    p.add_argument('--size', nargs=2, type=int, metavar=('H', 'W'),
                   help='input height and width, each 32 to 4096 (default: the pose codec\'s '
                        'input size, the segmenter\'s preprocessor size, else 224 224)')
    p.add_argument('--dynamic', action='store_true',
                   help='dynamic height and width (always for a segmenter and a whole '
                        'detector) and batch (with --batch 2 or more; a whole detector takes '
                        'one image)')
    p.add_argument('--part', choices=PARTS, default='default',
                   help="what is exported: the whole model (default), or 'rpn': a detector's "
                        'backbone, neck and RPN head')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                   help='config keys to set first, e.g. model.test_cfg.rcnn.score_thr=0.3')
    p.add_argument('--batch', type=int, default=1,
                   help=f'batch of the exported input, 1 to {MAX_BATCH}, with batch x H x W '
                        f'at most 4096 x 4096 pixels (default: 1)')
    return p


def _fail(message: str) -> int:
    print(f'error: {message}\nnothing was written.', file=sys.stderr)
    return 1


def main(argv=None) -> int:
    """Export as the command line ``argv`` says; the exit status (1: refused or failed, 2: bad
    arguments). Every failure is one ``error:`` message, never a traceback."""
    args = parser().parse_args(argv)
    try:
        check_input_size(args.size or (224, 224), args.batch,
                         name='--size' if args.size else 'size')
    except ValueError as exc:
        print(f'error: {str(exc).replace("batch ", "--batch ", 1)}\nnothing was written.',
              file=sys.stderr)
        return 2
    from ..checkpoint.io import first_line
    from .whole import export_whole, summary
    try:
        result = export_whole(args.config, args.out, args.checkpoint, size=args.size,
                              dynamic=True if args.dynamic else None, batch=args.batch,
                              part=args.part, cfg_options=args.cfg_options)
    except (ValueError, RuntimeError, OSError) as exc:  # CheckpointError is a ValueError
        text = str(exc)
        if 'allocate' in text or 'out of memory' in text:
            text = (f'{first_line(exc)}: the model does not fit in memory at this input; give '
                    f'a smaller --size or --batch')
        return _fail(text)
    except MemoryError:
        return _fail('out of memory: give a smaller --size or --batch')
    except Exception as exc:  # a toolbox's own error while building or tracing the model
        return _fail(first_line(exc))
    print(summary(result))
    return 0
