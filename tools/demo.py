"""``make demo``: make the tiny datasets, then train and test one tiny mmfish model per toolbox
through ``mim`` (MMPretrain classification, MMDetection Mask R-CNN, MMSegmentation DeepLabV3),
and print the metrics with where the checkpoints and logs are."""
import argparse
import sys
import time
from pathlib import Path

from mmfish.tooling.mim_runs import MimError
from mmfish.tooling.tiny_data import make_tiny_datasets
from mmfish.tooling.tiny_twins import demo_twins, results_table, run_twin, twin_by_name

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    toolboxes = [t.toolbox for t in demo_twins()]
    parser.add_argument('--toolboxes', nargs='*', default=toolboxes, choices=toolboxes)
    parser.add_argument('--work-dir', default='work_dirs', help='root of the work dirs')
    parser.add_argument('--data-root', default='data/tiny')
    args = parser.parse_args()

    print('== tiny datasets')
    for dataset in make_tiny_datasets(args.data_root, log=lambda s: print('  ' + s)):
        print('  ' + dataset.summary())
    rows = []
    start = time.perf_counter()
    for twin in (t for t in demo_twins() if t.toolbox in args.toolboxes):
        print(f'\n== {twin.toolbox}: {twin.name}')
        try:
            rows.append(run_twin(twin, args.work_dir, root=ROOT,
                                 log=lambda s: print('  ' + s, flush=True)))
        except MimError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 1
    print(f'\n== results ({time.perf_counter() - start:.0f} s)\n')
    print(results_table(rows))
    print('\nCheckpoints and logs:')
    for r in rows:
        logs = (f'{r["work_dir"]}/<timestamp>/<timestamp>.log, {r["work_dir"]}/mim_train.log, '
                'mim_test.log')
        print(f'  {twin_by_name(r["twin"]).toolbox:<10} {r["checkpoint"]}\n  {"":<10} {logs}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
