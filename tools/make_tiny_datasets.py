"""Write tiny, learnable synthetic datasets in the COCO instances (mmdet), ADE20K (mmseg),
ImageNet (mmpretrain), COCO keypoints (mmpose) and COCO panoptic (mmdet) formats; see
mmfish_tools/tiny_datasets.py and the modules it names for their content and layouts.

    python tools/make_tiny_datasets.py [--root data/tiny]
                                       [--which coco ade20k imagenet coco_pose coco_panoptic]
                                       [--seed 0] [--num-classes 3] [--force]

``--num-classes`` is the number of shapes of the first three; the keypoints have one class,
the panoptic data 3 thing and 3 stuff classes.

A dataset that is already complete with the same parameters is skipped; an interrupted run
leaves no half-written dataset behind.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish_tools.tiny_data import SHAPES
from mmfish_tools.tiny_datasets import DATASETS, make_tiny_datasets


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default='data/tiny', help='parent of the dataset folders')
    parser.add_argument('--which', nargs='+', default=list(DATASETS), choices=DATASETS)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-classes', type=int, default=3,
                        choices=range(1, len(SHAPES) + 1), metavar=f'1..{len(SHAPES)}')
    parser.add_argument('--force', action='store_true', help='regenerate complete datasets')
    args = parser.parse_args()
    start = time.perf_counter()
    datasets = make_tiny_datasets(args.root, args.which, seed=args.seed,
                                  num_classes=args.num_classes, force=args.force, log=print)
    written = sum(not d.skipped for d in datasets)
    print(f'\n{written} written, {len(datasets) - written} up to date, '
          f'{time.perf_counter() - start:.2f} s:')
    for dataset in datasets:
        print(f'  {dataset.summary()}')


if __name__ == '__main__':
    main()
