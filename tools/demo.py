"""``make demo``: make the tiny datasets, then train and test one light tiny mmfish model per
toolbox through ``mim`` (mmfish_tools.tiny_twins.DEMO_TWINS: ResNeSt-50 of a quarter of the
width as an MMPretrain classifier, an MMDetection Mask R-CNN, an MMSegmentation DeepLabV3 and an
MMPose top-down heatmap model), side by side on the idle cores (one run per idle core, one
thread each; ``--jobs`` and ``--threads`` choose), showing their progress; then print a table
of their losses and test metrics beside chance level, draw their loss curves into a PNG and
their predictions on held-out images beside the ground truth into another
(mmfish_tools.demo_predictions; ``tools/demo_picture.py`` redraws it from the work dirs), and
say where the checkpoints and logs are.

The full-size tiny twins are run by ``tools/run_tiny_twins.py`` (results in
docs/downstream.md)."""
import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: mmfish_tools

from mmfish_tools.demo_predictions import predictions_picture
from mmfish_tools.mim_runs import MimError
from mmfish_tools.tiny_datasets import make_tiny_datasets
from mmfish_tools.tiny_twins import DEMO_TWINS, plot_losses, results_table, run_twin

ROOT = Path(__file__).resolve().parents[1]
#: what the demo twins read (data/tiny/<name>)
DATASETS = ('imagenet', 'coco', 'ade20k', 'coco_pose')


def _cpu_times():
    """(idle, total) jiffies of all CPUs from /proc/stat (Linux), or None."""
    try:
        with open('/proc/stat') as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return values[3] + values[4], sum(values)  # idle + iowait


def idle_cores(window: float = 1.0):
    """The cores left idle by other work now (at least 1), and why: on a busy machine,
    PyTorch's default of one thread per core is several times slower than fewer threads,
    whose waits for each other no longer stall on cores taken by other work.

    Measured over ``window`` seconds from /proc/stat, not from the 1-minute load average,
    which after ``make install`` still counts the install that just ended; without
    /proc/stat, the load average."""
    cores = os.cpu_count() or 1
    first = _cpu_times()
    if first is not None:
        time.sleep(window)
        second = _cpu_times()
        busy = 1 - (second[0] - first[0]) / max(second[1] - first[1], 1)
        return (max(1, min(cores, round(cores * (1 - busy)))),
                f'{cores} cores, {100 * busy:.0f}% busy over the last {window:g} s')
    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average on this platform
        return cores, f'{cores} cores'
    return max(1, min(cores, round(cores - load))), f'{cores} cores, load average {load:.1f}'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    toolboxes = [t.toolbox for t in DEMO_TWINS]
    parser.add_argument('--toolboxes', nargs='*', default=toolboxes, choices=toolboxes)
    parser.add_argument('--work-dir', default='work_dirs', help='root of the work dirs')
    parser.add_argument('--data-root', default='data/tiny')
    parser.add_argument('--jobs', type=int, default=None,
                        help='twins trained at once; default: one per idle core (at most one '
                        'per toolbox)')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads of each training and test (OMP_NUM_THREADS); default: '
                        'the idle cores shared among the jobs, at least 1')
    args = parser.parse_args()
    twins = [t for t in DEMO_TWINS if t.toolbox in args.toolboxes]
    idle, why = idle_cores()
    # one thread per run loses little here: the light twins' steps are short and much of a run
    # is start-up, so runs side by side finish sooner than runs with more threads one by one
    jobs = max(1, min(len(twins), args.jobs or idle))
    threads = args.threads or max(1, idle // jobs)
    print(f'== {jobs} run(s) at a time, {threads} CPU thread(s) each ({why}; --jobs N and '
          '--threads N to choose)', flush=True)
    env = dict(OMP_NUM_THREADS=str(threads))

    start = time.perf_counter()
    print('== tiny datasets', flush=True)
    # make_tiny_datasets logs one line per dataset: what it writes, then its summary
    make_tiny_datasets(args.data_root, which=DATASETS, log=lambda s: print('  ' + s, flush=True))

    def run(twin):
        # side by side, each line says whose it is
        prefix = '  ' if jobs == 1 else f'  {twin.toolbox:<10}| '
        print(f'\n== {twin.toolbox}: {twin.name}', flush=True)
        return run_twin(twin, args.work_dir, root=ROOT, env=env,
                        log=lambda s: print(prefix + s, flush=True))

    try:
        with ThreadPoolExecutor(jobs) as pool:  # each run is a subprocess: threads only wait
            rows = list(pool.map(run, twins))
    except MimError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    curves = plot_losses(rows, str(Path(args.work_dir) / 'demo_losses.png'))
    print(f'\n== results ({time.perf_counter() - start:.0f} s in all, datasets included)\n')
    print(results_table(rows))
    print('\nChance: accuracy/top1 of a uniform guess among the 3 classes; mAP of no detection; '
          'aAcc and mIoU of\nthe majority label (background) everywhere; keypoint AP and AR of '
          "the training figures' mean\npose in each person's box. "
          f'Loss curves: {curves}')
    print('Checkpoints and logs:')
    for r, twin in zip(rows, twins):
        logs = (f'{r["work_dir"]}/<timestamp>/<timestamp>.log, {r["work_dir"]}/mim_train.log, '
                'mim_test.log')
        print(f'  {twin.toolbox:<10} {r["checkpoint"]}\n  {"":<10} {logs}')
    drawn = time.perf_counter()
    picture = predictions_picture(rows, Path(args.work_dir) / 'demo_predictions.png',
                                  data_root=args.data_root, root=ROOT)
    print(f'\nPredictions on held-out images beside their ground truth (each toolbox\'s '
          f'inferencer, mmfish.apis; {time.perf_counter() - drawn:.0f} s): {picture}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
