"""Train and test tiny twins through ``mim`` and record the results in docs/downstream.md.

    python tools/run_tiny_twins.py [--twins NAME ...] [--untrained] [--doc docs/downstream.md]
                                   [--results docs/tiny_twins.json] [--print-only] [--collect]

Each twin runs ``mim train`` then ``mim test`` on the tiny datasets (made first when missing)
and leaves its results in its work dir; ``--untrained`` also runs ``mim test`` on the twin's
model at its initial weights, the score that training must beat. The results join those kept
in ``--results`` (a twin's new result replaces its old one, each stamped with the date, the
CPU's vector ISA and the cores), and the table of all of them, in docs/downstream.md, gives the
loss at the first and last logged iterations, the test metrics beside their chance level, and
the wall time of each command (``--collect`` runs nothing: it adds the results saved in the
work dirs).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish_tools.docs import update_doc
from mmfish_tools.mim_runs import MimError
from mmfish_tools.tiny_datasets import make_tiny_datasets
from mmfish_tools.tiny_twins import TWINS, collect_results, merge_results, results_table, run_twin

ROOT = Path(__file__).resolve().parents[1]

MARKERS = ('<!-- tiny-runs:begin -->', '<!-- tiny-runs:end -->')


def main() -> int:
    names = [t.name for t in TWINS]
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--twins', nargs='*', default=names, choices=names)
    parser.add_argument('--untrained', action='store_true',
                        help="also test each twin's untrained model")
    parser.add_argument('--work-dir', default='work_dirs')
    parser.add_argument('--doc', default='docs/downstream.md')
    parser.add_argument('--results', default='docs/tiny_twins.json',
                        help='the kept results, which this run updates')
    parser.add_argument('--print-only', action='store_true',
                        help='update neither --doc nor --results')
    parser.add_argument('--collect', action='store_true',
                        help='run nothing: add the results saved in the work dirs')
    args = parser.parse_args()
    rows = []
    if args.collect:
        rows = collect_results(args.work_dir)
    else:
        make_tiny_datasets('data/tiny', log=lambda s: print('  ' + s))
    log = lambda s: print('  ' + s, flush=True)  # noqa: E731
    for twin in (t for t in TWINS if t.name in args.twins and not args.collect):
        print(f'\n== {twin.toolbox}: {twin.name}', flush=True)
        try:
            rows.append(run_twin(twin, args.work_dir, log=log, root=ROOT,
                                 untrained=args.untrained))
        except MimError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 1
    if args.print_only:
        print('\n' + results_table(rows, links=True))
        return 0
    table = results_table(merge_results(args.results, rows), links=True)
    print('\n' + table)
    update_doc(args.doc, table, *MARKERS)
    print(f'updated {args.doc} and {args.results}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
