"""Build every mmfish backbone inside the mmdet, mmseg and mmpretrain registries
and print a table of their parameters and pyramid shapes."""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish_tools.inventory import ALL_BACKBONES, format_table, inventory


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--variants', nargs='*', default=list(ALL_BACKBONES),
                        choices=list(ALL_BACKBONES))
    parser.add_argument('--size', type=int, default=224, help='input side for the shapes')
    args = parser.parse_args()
    print(f'Building {len(args.variants)} backbones through mmdet, mmseg and mmpretrain ...')
    rows = inventory(args.variants, args.size)
    print()
    print(format_table(rows, args.size))


if __name__ == '__main__':
    main()
