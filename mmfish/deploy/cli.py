"""The command line of ``tools/export.py``: export a whole model from an mmfish config to
ONNX and check it in onnxruntime against PyTorch (:func:`.whole.export_whole`)."""
import argparse
import sys

from ..checkpoint.io import CheckpointError
from .whole import export_whole, summary

__all__ = ['main']

DESCRIPTION = """Export the model of an mmfish config to ONNX and check it in onnxruntime
against PyTorch (largest relative output error 1e-4; at two input sizes when dynamic). A
classifier gives logits and their softmax, a segmenter per-pixel logits (dynamic height and
width), a top-down pose model heatmaps, a Mask or Faster R-CNN its backbone, neck and RPN head
(the RoI heads are not exported: docs/deployment.md). The input is float32 N x 3 x H x W pixel
values 0-255 in the config's loading order (BGR); the graph normalises them as the config
does."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='tools/export.py', description=DESCRIPTION)
    p.add_argument('config', help='an mmfish config (configs/...)')
    p.add_argument('checkpoint', nargs='?', help='weights to load (default: none, the '
                                                 "config's initial weights)")
    p.add_argument('--out', required=True, help='the .onnx file to write (atomically)')
    p.add_argument('--size', nargs=2, type=int, metavar=('H', 'W'),
                   help='input height and width (default: the pose codec\'s input size, the '
                        'segmenter\'s preprocessor size, else 224 224)')
    p.add_argument('--dynamic', action='store_true',
                   help='dynamic height and width (always for a segmenter) and batch (with '
                        '--batch 2 or more)')
    p.add_argument('--batch', type=int, default=1, help='batch of the exported input')
    return p


def main(argv=None) -> int:
    """Export as the command line ``argv`` says; the exit status (1: refused or failed)."""
    args = parser().parse_args(argv)
    if args.size is not None and min(args.size) < 1 or args.batch < 1:
        print('error: --size H W and --batch must be positive integers', file=sys.stderr)
        return 2
    try:
        result = export_whole(args.config, args.out, args.checkpoint, size=args.size,
                              dynamic=True if args.dynamic else None, batch=args.batch)
    except (ValueError, CheckpointError, RuntimeError, FileNotFoundError) as exc:
        print(f'error: {exc}\nnothing was written.', file=sys.stderr)
        return 1
    print(summary(result))
    return 0
