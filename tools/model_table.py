"""Measure params and FLOPs of every published variant and write the table of docs/models.md.

    python tools/model_table.py [--variants NAME ...] [--doc docs/models.md] [--print-only]
"""
import argparse
import platform
from pathlib import Path

import torch

from mmfish.tooling.docs import update_doc
from mmfish.tooling.model_table import BEGIN, END, format_rows, measure
from mmfish.variants import VARIANTS

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--variants', nargs='*', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--doc', default=str(ROOT / 'docs' / 'models.md'))
    parser.add_argument('--print-only', action='store_true', help='do not update --doc')
    args = parser.parse_args()
    print(f'Measuring {len(args.variants)} variants (torch {torch.__version__}, '
          f'{platform.machine()}) ...')
    table = format_rows(measure(args.variants, root=ROOT))
    print(table)
    if not args.print_only:
        update_doc(args.doc, table, BEGIN, END)
        print(f'updated {args.doc}')


if __name__ == '__main__':
    main()
