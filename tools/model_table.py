"""Measure params and FLOPs of every published variant and write the table of docs/models.md.

    python tools/model_table.py [--variants NAME ...] [--doc docs/models.md] [--print-only]
"""
import argparse
import platform

import torch

from mmfish.utils.model_table import format_rows, measure, update_doc
from mmfish.variants import VARIANTS


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--variants', nargs='*', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--doc', default='docs/models.md')
    parser.add_argument('--print-only', action='store_true', help='do not update --doc')
    args = parser.parse_args()
    print(f'Measuring {len(args.variants)} variants (torch {torch.__version__}, '
          f'{platform.machine()}) ...')
    table = format_rows(measure(args.variants))
    print(table)
    if not args.print_only:
        update_doc(args.doc, table)
        print(f'updated {args.doc}')


if __name__ == '__main__':
    main()
