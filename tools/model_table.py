"""Measure params and FLOPs of every published variant and write the table of docs/models.md,
and write the tables of released files of docs/converters.md and docs/weights.md and the table
of the toolboxes' trained models of docs/models.md.

    python tools/model_table.py [--variants NAME ...] [--doc docs/models.md] [--print-only]
    python tools/model_table.py --files-only      # the files tables only (no measuring)
"""
import argparse
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

import torch

from mmfish.variants import VARIANTS
from mmfish_tools import model_table as table_tool
from mmfish_tools.docs import update_doc
from mmfish_tools.model_table import BEGIN, END, format_rows, measure

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--variants', nargs='*', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--doc', default=str(ROOT / 'docs' / 'models.md'))
    parser.add_argument('--print-only', action='store_true', help='do not update --doc')
    parser.add_argument('--files-doc', default=str(ROOT / 'docs' / 'converters.md'))
    parser.add_argument('--weights-doc', default=str(ROOT / 'docs' / 'weights.md'))
    parser.add_argument('--files-only', action='store_true',
                        help='only write the released-files tables of --files-doc and '
                             '--weights-doc and the trained models of --doc')
    args = parser.parse_args()
    if not args.print_only:
        update_doc(args.files_doc, table_tool.format_files(), table_tool.FILES_BEGIN,
                   table_tool.FILES_END)
        update_doc(args.weights_doc, table_tool.format_weights(), table_tool.WEIGHTS_BEGIN,
                   table_tool.WEIGHTS_END)
        update_doc(args.doc, table_tool.format_trained(), table_tool.TRAINED_BEGIN,
                   table_tool.TRAINED_END)
        print(f'updated {args.files_doc}, {args.weights_doc} and the trained models of '
              f'{args.doc}')
    if args.files_only:
        return
    print(f'Measuring {len(args.variants)} variants (torch {torch.__version__}, '
          f'{platform.machine()}) ...')
    table = format_rows(measure(args.variants, root=ROOT))
    print(table)
    if not args.print_only:
        update_doc(args.doc, table, BEGIN, END)
        print(f'updated {args.doc}')


if __name__ == '__main__':
    main()
