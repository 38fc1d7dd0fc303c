"""Benchmark mmfish's backbones against every installed peer implementation, side by side.

For each model: converts random weights of each peer (mmdet, mmseg, mmpretrain, timm, the
official FishNet code) with mmfish's converters, asserts that mmfish computes the same outputs
(in float64; on a GPU also in float32 with TF32 off), then reports params, FLOPs, eval and
train-step throughput (interleaved repeats, medians), peak training memory and mmfish/peer
ratios. torchvision's ResNet-50 is the reference. Every run records the CPU's vector ISA and
the oneDNN version (and on a GPU its name, CUDA and cuDNN).

    python tools/benchmark.py                                 # every model, batch 8, 224
    python tools/benchmark.py --models resnest50 --repeats 5 --no-memory
    python tools/benchmark.py --models fishnet150 --official-fishnet ~/src/FishNet
    python tools/benchmark.py --models resnest50 --breakdown 3   # where the time goes
    python tools/benchmark.py --models resnest50 --also onnx     # and ONNX Runtime (eval)
    python tools/benchmark.py --also with_cp nchw --json out.json --plot out.png \\
        --doc docs/benchmarks.md
    python tools/benchmark.py --device cuda --amp fp16 --batch 32 --peers-channels-last
    python tools/benchmark.py --detector CONFIG [--checkpoint FILE] --also onnx --size 128
        # a whole detector: mmdet's predict against its ONNX export in onnxruntime

``--doc FILE`` replaces the run's section of FILE, between ``<!-- benchmark:KEY:begin -->``
and ``<!-- benchmark:KEY:end -->``; KEY names the device, the CPU's ISA and the precision
(``cpu-avx2-fp32``, ``cpu-avx512-fp32``, ``cuda-fp32``, ``cuda-fp16``; ``--section`` sets
another).
"""
import argparse
import sys

import torch

from ..docs import update_doc
from .core import (
    ALSO,
    AMP_DTYPES,
    DEVICES,
    DeviceUnavailable,
    EqualityError,
    autocast_dtype,
    check_also,
    load_json,
    machine,
    run,
    save_json,
)
from .peers import SUBJECTS
from .report import markdown, markers, plot, section_key


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='tools/benchmark.py', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--models', nargs='+', default=list(SUBJECTS), choices=list(SUBJECTS))
    p.add_argument('--device', default='cpu', choices=DEVICES,
                   help='where to run (cuda: the first visible GPU)')
    p.add_argument('--amp', choices=list(AMP_DTYPES),
                   help='time under autocast to this dtype (mixed precision) instead of fp32; '
                        'fp16 needs --device cuda')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=None,
                   help='torch threads (default: torch\'s own choice)')
    p.add_argument('--also', nargs='*', default=[], choices=list(ALSO),
                   help='extra mmfish rows: NCHW layout, with_cp, torch.compile, onnx '
                        '(exported to ONNX, run by onnxruntime on the CPU in fp32: eval only)')
    p.add_argument('--peers-channels-last', action='store_true',
                   help='also time every peer with its weights and input in the channels-last '
                        'format (rows "<peer> channels-last")')
    p.add_argument('--no-memory', action='store_true', help='skip peak memory')
    p.add_argument('--breakdown', type=int, default=0, metavar='STEPS',
                   help='also time every operator of STEPS train steps per implementation '
                        'and report where the time goes (CPU only)')
    p.add_argument('--official-fishnet', metavar='DIR',
                   help='a clone of github.com/kevin-ssy/FishNet, to compare FishNet with')
    p.add_argument('--detector', metavar='CONFIG',
                   help='time this detector config (Faster, Mask or Cascade R-CNN) instead: '
                        'mmdet\'s predict against its whole ONNX export in onnxruntime (needs '
                        '--also onnx; one image per run, --size x --size, CPU, fp32)')
    p.add_argument('--checkpoint', metavar='FILE', help='the --detector\'s weights')
    p.add_argument('--json', help='write every measurement here')
    p.add_argument('--plot', help='write a PNG plot here')
    p.add_argument('--doc', help='replace the run\'s section (see above) of this markdown file')
    p.add_argument('--section', metavar='KEY',
                   help='the section of --doc to replace (default: from the device, the '
                        'CPU\'s ISA and the precision, e.g. cpu-avx2-fp32)')
    p.add_argument('--from-json', metavar='FILE',
                   help='measure nothing: report the run saved with --json in FILE')
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.from_json:
        rows, settings = load_json(args.from_json)
        return report(rows, settings, args)
    try:
        autocast_dtype(args.device, args.amp)
        check_also(args.also, args.device, args.amp)
        if args.breakdown and args.device != 'cpu':
            raise ValueError('--breakdown times each kernel as it returns, which only the CPU '
                             'does (GPU kernels run asynchronously): leave it out with '
                             '--device cuda')
    except (ValueError, DeviceUnavailable) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.detector or args.checkpoint:
        return detector_main(args)
    settings = dict(batch=args.batch, size=args.size, repeats=args.repeats,
                    warmup=args.warmup, breakdown=args.breakdown, device=args.device,
                    amp=args.amp, peers_channels_last=args.peers_channels_last,
                    machine=machine(args.device))
    if args.device == 'cuda':
        # the same for every implementation: autotuned cuDNN algorithms (found during the
        # warm-up steps), PyTorch's default TF32 settings, recorded with the figures
        torch.backends.cudnn.benchmark = True
        settings.update(cudnn_benchmark=True, cudnn_tf32=torch.backends.cudnn.allow_tf32,
                        matmul_tf32=torch.backends.cuda.matmul.allow_tf32)
    return run_and_report(settings, args, lambda log: run(
        args.models, official_fishnet=args.official_fishnet, batch=args.batch, size=args.size,
        repeats=args.repeats, warmup=args.warmup, memory=not args.no_memory, also=args.also,
        breakdown_steps=args.breakdown, device=args.device, amp=args.amp,
        peers_channels_last=args.peers_channels_last, log=log), EqualityError, 1)


def run_and_report(settings: dict, args, rows_of, errors, status: int) -> int:
    """Print ``settings``, compute the rows (``rows_of(log)``), write them as JSON where
    ``--json`` asks and report them (:func:`report`); one of ``errors`` is printed and gives
    the exit status ``status``."""
    print(f'mmfish benchmark: {settings}', flush=True)
    try:
        rows = rows_of(lambda s: print(s, flush=True))
    except errors as exc:
        print(f'error: {exc}', file=sys.stderr)
        return status
    if args.json:
        save_json(rows, settings, args.json)
        print(f'wrote {args.json}')
    return report(rows, settings, args)


def detector_main(args) -> int:
    """``--detector``: :func:`.detector.benchmark_detector`'s rows, reported."""
    from .detector import benchmark_detector
    if not args.detector or args.also != ['onnx'] or args.device != 'cpu' or args.amp or \
            args.breakdown or args.plot:
        print('error: --detector CONFIG times mmdet\'s predict against the ONNX export: give '
              '--also onnx and no other --also, --device, --amp, --breakdown or --plot '
              '(--checkpoint goes with --detector)', file=sys.stderr)
        return 2
    settings = dict(detector=args.detector, checkpoint=args.checkpoint, batch=1,
                    size=args.size, repeats=args.repeats, warmup=args.warmup, device='cpu',
                    amp=None, machine=machine('cpu'))
    return run_and_report(settings, args, lambda log: benchmark_detector(
        args.detector, args.checkpoint, size=args.size, repeats=args.repeats,
        warmup=args.warmup, log=log), (ValueError, RuntimeError), 2)


def report(rows, settings, args) -> int:
    if settings.get('detector'):
        from .detector import detector_markdown
        table = detector_markdown(rows, settings)
    else:
        table = markdown(rows, settings)
    print('\n' + table)
    if args.plot and not settings.get('detector'):
        plot(rows, settings['batch'], args.plot)
        print(f'wrote {args.plot}')
    if args.doc:
        key = args.section or (('detector-' if settings.get('detector') else '') +
                               section_key(settings))
        begin, end = markers(key)
        try:
            update_doc(args.doc, table, begin, end)
        except ValueError:
            print(f'error: {args.doc} has no section {key!r} for this run: put the lines '
                  f'{begin} and {end} where its table goes (or name another section with '
                  f'--section)', file=sys.stderr)
            return 2
        print(f'updated section {key} of {args.doc}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
