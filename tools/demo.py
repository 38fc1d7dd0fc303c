"""``make demo``: make the tiny datasets, then train and test one tiny mmfish model per toolbox
through ``mim`` (MMPretrain classification, MMDetection Mask R-CNN, MMSegmentation DeepLabV3),
and print the metrics with where the checkpoints and logs are."""
import argparse
import sys
import time

from mmfish.data import make_tiny_datasets
from mmfish.utils.mim_runs import MimError
from mmfish.utils.tiny_twins import demo_twins, run_twin, twin_by_name


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
            rows.append(run_twin(twin, args.work_dir, log=lambda s: print('  ' + s, flush=True)))
        except MimError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 1
    print(f'\n== results ({time.perf_counter() - start:.0f} s)\n')
    print('| toolbox | config | loss first -> last | metrics (chance) | train / test s |')
    print('|---|---|---|---|---|')
    for r in rows:
        twin = twin_by_name(r['twin'])
        metrics = ', '.join(f'{k} {v:.3f} ({twin.chance[k]:.1f})' for k, v in r['metrics'].items())
        loss = f'{r["losses"][0]:.3f} -> {r["losses"][-1]:.3f}' if r['losses'] else '-'
        print(f'| {twin.toolbox} | {twin.name} | {loss} | {metrics} | '
              f'{r["train_seconds"]:.0f} / {r["test_seconds"]:.0f} |')
    print('\nCheckpoints and logs:')
    for r in rows:
        logs = (f'{r["work_dir"]}/<timestamp>/<timestamp>.log, {r["work_dir"]}/mim_train.log, '
                'mim_test.log')
        print(f'  {twin_by_name(r["twin"]).toolbox:<10} {r["checkpoint"]}\n  {"":<10} {logs}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
