"""Train and test tiny twins through ``mim`` and record the results in docs/downstream.md.

    python tools/run_tiny_twins.py [--twins NAME ...] [--doc docs/downstream.md] [--print-only]

Each twin runs ``mim train`` then ``mim test`` on the tiny datasets (made first when missing)
and leaves its results in its work dir. The table, of every twin with saved results, gives the
loss at the first and last logged iterations, the test metrics beside their chance level, and
the wall time of each command on this machine (``--collect`` only re-tabulates).
"""
import argparse
import os
import platform
import sys
from pathlib import Path

import torch

from mmfish.tooling.docs import update_doc
from mmfish.tooling.mim_runs import MimError
from mmfish.tooling.tiny_data import make_tiny_datasets
from mmfish.tooling.tiny_twins import TWINS, collect_results, results_table, run_twin

ROOT = Path(__file__).resolve().parents[1]

MARKERS = ('<!-- tiny-runs:begin -->', '<!-- tiny-runs:end -->')


def format_rows(rows) -> str:
    return '\n'.join([f'Measured on {platform.machine()} with {os.cpu_count()} CPU threads, torch '
                      f'{torch.__version__} (CPU capability '
                      f'{torch.backends.cpu.get_cpu_capability()}), no GPU.', '',
                      results_table(rows, links=True)])


def main() -> int:
    names = [t.name for t in TWINS]
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--twins', nargs='*', default=names, choices=names)
    parser.add_argument('--work-dir', default='work_dirs')
    parser.add_argument('--doc', default='docs/downstream.md')
    parser.add_argument('--print-only', action='store_true')
    parser.add_argument('--collect', action='store_true',
                        help='run nothing: tabulate the results saved in the work dirs')
    args = parser.parse_args()
    if not args.collect:
        make_tiny_datasets('data/tiny', log=lambda s: print('  ' + s))
    for twin in (t for t in TWINS if t.name in args.twins and not args.collect):
        print(f'\n== {twin.toolbox}: {twin.name}', flush=True)
        try:
            run_twin(twin, args.work_dir, log=lambda s: print('  ' + s, flush=True), root=ROOT)
        except MimError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 1
    table = format_rows(collect_results(args.work_dir))
    print('\n' + table)
    if not args.print_only:
        update_doc(args.doc, table, *MARKERS)
        print(f'updated {args.doc}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
