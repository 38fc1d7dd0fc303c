"""Peak training memory of one implementation, in a process of its own.

``python -m mmfish.benchmark.memory SUBJECT IMPL BATCH SIZE KWARGS_JSON [OFFICIAL_FISHNET_DIR]``
prints ``{"peak_mb": ...}``: the process's resident high-water mark during two train steps
minus its resident size once the model and the input exist (parameters, gradients,
activations and workspace of a step, on top of the model). Linux only (``/proc``).
"""
import json
import sys


def _rss_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith(field))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    subject, impl, batch, size, kwargs = argv[:5]
    import torch

    import mmfish  # noqa: F401

    from . import peers
    from .core import build_impl, train_step
    if len(argv) > 5:
        peers.OFFICIAL_FISHNET_DIR = argv[5]
    model = build_impl(peers.SUBJECTS[subject], impl, json.loads(kwargs))
    model.train()
    x = torch.rand(int(batch), 3, int(size), int(size))
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset the high-water mark (VmHWM) to the current resident size
    base = _rss_kb('VmRSS:')
    for _ in range(2):
        train_step(model, x)
    peak = _rss_kb('VmHWM:')
    print(json.dumps(dict(peak_mb=(peak - base) / 1024)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
