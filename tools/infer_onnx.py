"""Run a detector exported whole by tools/export.py (an ``.onnx`` file) on images in ONNX
Runtime: print one line per image summarising the detections, as tools/infer.py does for the
PyTorch model, and write the pictures the config's visualiser draws to ``<out>/vis/`` (the
same drawing as mmdet's inferencer; the code is :class:`mmfish.deploy.onnx_detect.OnnxDetector`).

    python tools/export.py configs/tiny/demo/mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco.py \\
        work_dirs/mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco/iter_80.pth \\
        --out mask-rcnn.onnx --size 128 128
    python tools/infer_onnx.py \\
        configs/tiny/demo/mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco.py mask-rcnn.onnx \\
        data/tiny/coco/val2017/000000000001.jpg --out out --show-score-thr 0.5

The config's test pipeline resizes each image before the graph; boxes and masks are given in
the original image's pixels.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/infer.py

from infer import score_threshold  # noqa: E402

from mmfish.apis import summary  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the config the model was exported from')
    parser.add_argument('model', help='the .onnx file tools/export.py wrote')
    parser.add_argument('inputs', nargs='+', help='image files')
    parser.add_argument('--out', required=True, help='where the drawn pictures go (<out>/vis/)')
    parser.add_argument('--show-score-thr', type=score_threshold, default=0.3,
                        help='the score from which boxes are drawn and counted, from 0 to 1 '
                        '(default: 0.3)')
    args = parser.parse_args(argv)
    from mmfish.deploy.onnx_detect import OnnxDetector
    try:
        for path in [args.model, *args.inputs]:
            if not Path(path).is_file():
                raise FileNotFoundError(f'{path}: no such file')
        detector = OnnxDetector(args.model, args.config)
        results = detector.run(args.inputs, args.out, args.show_score_thr)
    except (OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    classes = detector.meta.get('classes')
    for image, result in zip(args.inputs, results):
        print(f'{image}: {summary("mmdet", result, args.show_score_thr, classes)} '
              f'-> {result["picture"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
