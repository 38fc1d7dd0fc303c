"""Where a train step's time goes: every ATen operator of the step timed on its own.

A :class:`~torch.utils._python_dispatch.TorchDispatchMode` times each operator that reaches
the kernels (forward and backward) and files it under a category: convolutions, norms,
activations, pools, copies (``clone``, ``copy_``, ``cat``) and the rest (element-wise
arithmetic and reductions). On the CPU a kernel returns when its work is done, so these are
the operators' own times; views and the Python around them cost next to nothing and fall
under "other".

The convolutions are what every implementation of a model computes alike: the same
oneDNN kernels, the same FLOPs. Their time in mmfish bounds what any change to the rest can
achieve: :func:`ceiling` is the speed-up over a peer that mmfish would reach if everything
but its convolutions took no time at all.
"""
import statistics
import time
from collections import defaultdict
from typing import Callable, Dict, List

import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode

CATEGORIES = {
    'convolutions': ('convolution', 'convolution_backward', '_convolution',
                     'mkldnn_convolution', 'conv2d'),
    'norms': ('native_batch_norm', 'native_batch_norm_backward', '_native_batch_norm_legit',
              '_native_batch_norm_legit_no_training', 'batch_norm_backward',
              'native_group_norm', 'native_group_norm_backward'),
    'activations': ('relu', 'relu_', 'threshold_backward', 'sigmoid', 'sigmoid_backward',
                    '_softmax', '_softmax_backward_data', 'clamp_min', 'clamp_min_'),
    'pools': ('max_pool2d_with_indices', 'max_pool2d_with_indices_backward', 'avg_pool2d',
              'avg_pool2d_backward', '_adaptive_avg_pool2d', '_adaptive_avg_pool2d_backward',
              'upsample_nearest2d', 'upsample_nearest2d_backward'),
    'copies': ('clone', 'copy_', 'cat', '_to_copy'),
}
#: the column order of reports; "other" is everything not listed above
ORDER = tuple(CATEGORIES) + ('other',)
_CATEGORY_OF = {op: cat for cat, ops in CATEGORIES.items() for op in ops}


def category(op_name: str) -> str:
    """The category of an ATen operator (its overload packet's name, e.g. ``'add_'``)."""
    return _CATEGORY_OF.get(op_name, 'other')


class OpTimer(TorchDispatchMode):
    """Adds up the seconds spent in each ATen operator while active."""

    def __init__(self):
        super().__init__()
        self.seconds: Dict[str, float] = defaultdict(float)
        self.calls: Dict[str, int] = defaultdict(int)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        start = time.perf_counter()
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        self.seconds[name] += time.perf_counter() - start
        self.calls[name] += 1
        return out

    def by_category(self) -> Dict[str, float]:
        totals = {c: 0.0 for c in ORDER}
        for name, seconds in self.seconds.items():
            totals[category(name)] += seconds
        return totals


def breakdown(models: Dict[str, nn.Module], step: Callable[[nn.Module], None], steps: int = 3,
              log: Callable[[str], None] = print) -> Dict[str, Dict[str, float]]:
    """Seconds per category (and ``'total'``, their sum) of one ``step(model)``, the median of
    ``steps`` timed steps, the models interleaved in a rotating order as in the timing runs."""
    names = list(models)
    samples: Dict[str, List[Dict[str, float]]] = {n: [] for n in names}
    for name in names:  # warm-up outside the timer
        step(models[name])
    for r in range(steps):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            with OpTimer() as timer:
                step(models[name])
            samples[name].append(timer.by_category())
        log(f'    breakdown step {r + 1}/{steps}')
    out = {}
    for name, runs in samples.items():
        med = {c: statistics.median(run[c] for run in runs) for c in ORDER}
        med['total'] = statistics.median(sum(run.values()) for run in runs)
        out[name] = med
    return out


def ceiling(ours: Dict[str, float], peer: Dict[str, float]) -> float:
    """The train-step speed-up over ``peer`` that ``ours`` would have if everything but its
    convolutions took no time (both breakdowns from :func:`breakdown`)."""
    return peer['total'] / ours['convolutions']


def budget(ours: Dict[str, float], peer: Dict[str, float], speedup: float) -> float:
    """Seconds that everything but ``ours``'s convolutions may take for ``ours`` to be
    ``speedup`` times as fast as ``peer`` (negative: out of reach whatever the rest does)."""
    return peer['total'] / speedup - ours['convolutions']
