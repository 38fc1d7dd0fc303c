"""Redraw the demo's picture of predictions (held-out images, ground truth beside each trained
demo twin's prediction; mmfish_tools.demo_predictions) from the work dirs of a
``python tools/demo.py`` run:

    python tools/demo_picture.py work_dirs --out docs/demo_predictions.png
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish_tools.demo_predictions import load_results, predictions_picture
from mmfish_tools.tiny_twins import DEMO_TWINS

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dir', help='the --work-dir of the demo run')
    parser.add_argument('--out', default=None,
                        help='the PNG to write (default: WORK_DIR/demo_predictions.png)')
    parser.add_argument('--data-root', default='data/tiny', help='where the tiny datasets are')
    parser.add_argument('--count', type=int, default=3, help='held-out images per toolbox')
    args = parser.parse_args()
    try:
        results = load_results(args.work_dir, [t.name for t in DEMO_TWINS])
    except FileNotFoundError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    out = args.out or str(Path(args.work_dir) / 'demo_predictions.png')
    print(predictions_picture(results, out, data_root=args.data_root, count=args.count,
                              root=ROOT))
    return 0


if __name__ == '__main__':
    sys.exit(main())
