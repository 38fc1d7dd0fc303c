"""Benchmark mmfish's backbones against every installed peer implementation, side by side.

For each model: converts random weights of each peer (mmdet, mmseg, mmpretrain, timm, the
official FishNet code) with mmfish's converters, asserts that mmfish computes the same outputs,
then reports params, FLOPs, eval and train-step throughput (interleaved repeats, medians),
peak training memory and mmfish/peer ratios. torchvision's ResNet-50 is the reference.

    python tools/benchmark.py                                 # every model, batch 8, 224
    python tools/benchmark.py --models resnest50 --repeats 5 --no-memory
    python tools/benchmark.py --models fishnet150 --official-fishnet ~/src/FishNet
    python tools/benchmark.py --models resnest50 --breakdown 3   # where the time goes
    python tools/benchmark.py --also with_cp nchw --json out.json --plot out.png \\
        --doc docs/benchmarks.md
"""
import argparse
import sys

import torch

from mmfish.benchmark import ALSO, SUBJECTS, EqualityError, run
from mmfish.benchmark.core import load_json, machine, save_json
from mmfish.benchmark.report import markdown, plot
from mmfish.utils.model_table import update_doc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', default=list(SUBJECTS), choices=list(SUBJECTS))
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch\'s own choice)')
    parser.add_argument('--also', nargs='*', default=[], choices=list(ALSO),
                        help='extra mmfish rows: NCHW layout, with_cp, torch.compile')
    parser.add_argument('--no-memory', action='store_true', help='skip peak memory')
    parser.add_argument('--breakdown', type=int, default=0, metavar='STEPS',
                        help='also time every operator of STEPS train steps per '
                             'implementation and report where the time goes')
    parser.add_argument('--official-fishnet', metavar='DIR',
                        help='a clone of github.com/kevin-ssy/FishNet, to compare FishNet with')
    parser.add_argument('--json', help='write every measurement here')
    parser.add_argument('--plot', help='write a PNG plot here')
    parser.add_argument('--doc', help='replace the table between the benchmark markers of '
                                      'this markdown file')
    parser.add_argument('--from-json', metavar='FILE',
                        help='measure nothing: report the run saved with --json in FILE')
    args = parser.parse_args(argv)
    if args.from_json:
        rows, settings = load_json(args.from_json)
        return report(rows, settings, args)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = dict(batch=args.batch, size=args.size, repeats=args.repeats,
                    warmup=args.warmup, breakdown=args.breakdown, machine=machine())
    print(f'mmfish benchmark: {settings}', flush=True)
    try:
        rows = run(args.models, official_fishnet=args.official_fishnet, batch=args.batch,
                   size=args.size, repeats=args.repeats, warmup=args.warmup,
                   memory=not args.no_memory, also=args.also,
                   breakdown_steps=args.breakdown,
                   log=lambda s: print(s, flush=True))
    except EqualityError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    if args.json:
        save_json(rows, settings, args.json)
        print(f'wrote {args.json}')
    return report(rows, settings, args)


def report(rows, settings, args) -> int:
    table = markdown(rows, settings)
    print('\n' + table)
    if args.plot:
        plot(rows, settings['batch'], args.plot)
        print(f'wrote {args.plot}')
    if args.doc:
        update_doc(args.doc, table, '<!-- benchmark:begin -->', '<!-- benchmark:end -->')
        print(f'updated {args.doc}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
