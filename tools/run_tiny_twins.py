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

import torch

from mmfish.data import make_tiny_datasets
from mmfish.utils.mim_runs import MimError
from mmfish.utils.model_table import update_doc
from mmfish.utils.tiny_twins import TWINS, collect_results, run_twin, twin_by_name

MARKERS = ('<!-- tiny-runs:begin -->', '<!-- tiny-runs:end -->')


def format_rows(rows) -> str:
    lines = [f'Measured on {platform.machine()} with {os.cpu_count()} CPU threads, torch '
             f'{torch.__version__}, no GPU.', '',
             '| toolbox | tiny twin | iterations | loss first -> last | test metrics (chance) '
             '| train s | test s |', '|---|---|---:|---|---|---:|---:|']
    for r in rows:
        twin = twin_by_name(r['twin'])
        metrics = ', '.join(f'{k} {v:.3f} ({twin.chance[k]:.1f})' for k, v in r['metrics'].items())
        lines.append(f'| {twin.toolbox} | [{twin.name}](../{twin.config}) | {r["iters"]} | '
                     f'{r["losses"][0]:.3f} -> {r["losses"][-1]:.3f} | {metrics} | '
                     f'{r["train_seconds"]:.0f} | {r["test_seconds"]:.0f} |')
    return '\n'.join(lines)


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
            run_twin(twin, args.work_dir, log=lambda s: print('  ' + s, flush=True))
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
