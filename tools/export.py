"""Export the model of an mmfish config (a classifier, segmenter, top-down pose model, a
whole Mask, Faster or Cascade (Mask) R-CNN, or a detector's backbone, neck and RPN head) to
ONNX, checked in onnxruntime against PyTorch
(``python tools/export.py --help``; the code is :mod:`mmfish.deploy.cli`).

    python tools/export.py configs/tiny/demo/resnest50-w16_1xb16-60i_tiny-imagenet.py \\
        work_dirs/epoch_1.pth --out resnest50.onnx --size 64 64
"""
import sys

from mmfish.deploy.cli import main

if __name__ == '__main__':
    sys.exit(main())
