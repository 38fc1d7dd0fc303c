"""Peak training memory of one implementation on the CPU, in a process of its own.

``python -m mmfish_tools.benchmark.memory SUBJECT IMPL BATCH SIZE KWARGS_JSON
[--official-fishnet DIR] [--amp bf16] [--channels-last]`` prints ``{"peak_mb": ...}``: the
process's resident high-water mark during two train steps minus its resident size once the
model and the input exist (parameters, gradients, activations and workspace of a step, on top
of the model). ``--channels-last`` runs a peer in the channels-last format. Linux only
(``/proc``).
"""
import argparse
import json
import sys


def _rss_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith(field))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('subject')
    parser.add_argument('impl')
    parser.add_argument('batch', type=int)
    parser.add_argument('size', type=int)
    parser.add_argument('kwargs', type=json.loads, help='keyword arguments of mmfish\'s model')
    parser.add_argument('--official-fishnet', metavar='DIR')
    parser.add_argument('--amp', choices=['bf16'], help='train under CPU autocast to bf16')
    parser.add_argument('--channels-last', action='store_true',
                        help='run the peer in the channels-last memory format')
    args = parser.parse_args(argv)
    import torch

    import mmfish  # noqa: F401

    from . import peers
    from .core import autocast_dtype, build_impl, train_step
    peers.OFFICIAL_DIRS['fishnet'] = args.official_fishnet
    model = build_impl(peers.SUBJECTS[args.subject], args.impl, args.kwargs)
    if args.channels_last:
        model = peers.ChannelsLast(model)
    model.train()
    amp = autocast_dtype('cpu', args.amp)
    x = torch.rand(args.batch, 3, args.size, args.size)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset the high-water mark (VmHWM) to the current resident size
    base = _rss_kb('VmRSS:')
    for _ in range(2):
        train_step(model, x, amp)
    peak = _rss_kb('VmHWM:')
    print(json.dumps(dict(peak_mb=(peak - base) / 1024)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
