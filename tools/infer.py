"""Run an mmfish model on images with its toolbox's own inferencer (mmfish.apis): print one
line per image summarising the prediction, and write the pictures the inferencer draws to
``<out>/vis/``.

    python tools/infer.py CONFIG CHECKPOINT a.jpg b.jpg --out out
    python tools/infer.py configs/tiny/demo/mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco.py \\
        work_dirs/mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco/iter_80.pth \\
        data/tiny/coco/val2017/000000000001.jpg --out out --show-score-thr 0.5

CHECKPOINT is a file or a name (``mmfish://<toolbox>/<model>``, ``open-mmlab://...``, a URL).
The toolbox is the config's ``default_scope``; docs/inference.md tells what each one returns.
"""
import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish.apis import build_inferencer, check_inputs, classes_of, run, summary


def score_threshold(text: str) -> float:
    """``--show-score-thr``: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise argparse.ArgumentTypeError(f'{text!r} is not a score from 0 to 1')
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help="the model's config (its default_scope names its "
                        'toolbox)')
    parser.add_argument('checkpoint', help='a checkpoint file or an mmfish:// / open-mmlab:// '
                        'name')
    parser.add_argument('inputs', nargs='+', help='image files')
    parser.add_argument('--out', required=True, help='where the drawn pictures go (<out>/vis/)')
    parser.add_argument('--device', default='cpu', help='where the model runs (default: cpu)')
    parser.add_argument('--show-score-thr', type=score_threshold, default=0.3,
                        help='the score from which boxes (mmdet), persons and keypoints '
                        '(mmpose) are drawn and counted, from 0 to 1 (default: 0.3)')
    args = parser.parse_args()
    try:
        # every input is checked before the model is built
        checked = check_inputs(args.config, args.checkpoint, args.inputs, out_dir=args.out,
                               device=args.device)
        inferencer = build_inferencer(checked.cfg, checked.checkpoint, checked.device,
                                      checked.scope)
        out = run(inferencer, checked, **threshold_kwargs(checked.scope, args.show_score_thr))
    except (OSError, ValueError) as exc:  # FileNotFoundError, CheckpointError, ...
        print(f'error: {exc}', file=sys.stderr)
        return 2
    classes = classes_of(inferencer)
    for image, prediction, picture in zip(args.inputs, out['predictions'], out['pictures']):
        print(f'{image}: {summary(checked.scope, prediction, args.show_score_thr, classes)} '
              f'-> {picture}')
    return 0


def threshold_kwargs(toolbox: str, thr: float) -> dict:
    """The inferencer's own argument for the drawing threshold ``thr``."""
    return dict(mmdet=dict(pred_score_thr=thr), mmpose=dict(kpt_thr=thr)).get(toolbox, {})


if __name__ == '__main__':
    sys.exit(main())
