"""Write tiny, learnable synthetic datasets in the COCO (mmdet), ADE20K (mmseg) and ImageNet
(mmpretrain) formats; see mmfish/tooling/tiny_data.py for their content and layouts.

    python tools/make_tiny_datasets.py [--root data/tiny] [--which coco ade20k imagenet]
                                       [--seed 0] [--num-classes 3] [--force]

A dataset that is already complete with the same parameters is skipped; an interrupted run
leaves no half-written dataset behind.
"""
import argparse
import time

from mmfish.tooling.tiny_data import DATASETS, SHAPES, make_tiny_datasets


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
