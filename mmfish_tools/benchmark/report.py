"""Tables and plots of benchmark rows."""
import statistics
from typing import Dict, List, Optional

from .breakdown import ORDER, budget, ceiling
from .core import EVAL_ONLY, Row


def _fmt(value: Optional[float], spec: str, missing: str = '-') -> str:
    return missing if value is None else format(value, spec)


def _groups(rows: List[Row]) -> Dict[str, List[Row]]:
    groups: Dict[str, List[Row]] = {}
    for r in rows:
        groups.setdefault(r.subject, []).append(r)
    return groups


def speedups(rows: List[Row], batch: int) -> Dict[str, dict]:
    """Per subject, mmfish's throughput over the fastest peer's, in eval and train."""
    out = {}
    for subject, group in _groups(rows).items():
        ours = next((r for r in group if r.impl == 'mmfish'), None)
        peers = [r for r in group if not r.impl.startswith('mmfish')]
        if ours is None or not peers:
            continue
        out[subject] = {}
        for mode in ('eval', 'train'):
            best = max(peers, key=lambda r: r.throughput(mode, batch) or 0)
            out[subject][mode] = (ours.throughput(mode, batch) / best.throughput(mode, batch),
                                  best.impl)
    return out


def isa(settings: dict) -> str:
    """The CPU vector ISA a run recorded, or ``'ISA not recorded'`` (runs made before the
    benchmark logged it)."""
    return settings['machine'].get('isa') or 'ISA not recorded'


def run_label(settings: dict) -> str:
    """Where and in what precision a run measured, e.g. ``'CPU AVX2, fp32'`` or
    ``'GPU NVIDIA H100 80GB HBM3, AMP fp16'``."""
    precision = f'AMP {settings["amp"]}' if settings.get('amp') else 'fp32'
    if settings.get('device', 'cpu') == 'cuda':
        return f'GPU {settings["machine"].get("gpu", "(unnamed)")}, {precision}'
    return f'CPU {isa(settings)}, {precision}'


def section_key(settings: dict) -> str:
    """The name of the run's section in a markdown file (its markers are
    ``<!-- benchmark:KEY:begin -->`` and ``<!-- benchmark:KEY:end -->``): ``cpu-avx2-fp32``,
    ``cpu-avx512-fp32``, ``cuda-fp32``, ``cuda-fp16``, ...; ``cpu-isa-not-recorded-fp32``
    for a run that did not record its ISA."""
    precision = settings.get('amp') or 'fp32'
    if settings.get('device', 'cpu') == 'cuda':
        return f'cuda-{precision}'
    cpu_isa = settings['machine'].get('isa') or 'isa-not-recorded'
    return f'cpu-{cpu_isa.lower()}-{precision}'


def markers(key: str) -> tuple:
    """The begin and end markers of section ``key`` (see :func:`section_key`)."""
    return f'<!-- benchmark:{key}:begin -->', f'<!-- benchmark:{key}:end -->'


def _machine_line(settings: dict) -> str:
    m = settings['machine']
    onednn = f'oneDNN {m["onednn"]}' if m.get('onednn') else (
        'oneDNN version not recorded' if 'onednn' not in m else 'no oneDNN')
    if m.get('isa'):
        cpu = (f'vector ISA {m["isa"]} (`torch.backends.cpu.get_cpu_capability()`), '
               f'{onednn}; {m["cpu"]}')
    else:
        cpu = (f'vector ISA not recorded (the run predates the benchmark recording it), '
               f'{onednn}; {m["cpu"]}')
    software = f'torch {m["torch"]}, Python {m["python"]}; {m["date"]}'
    if settings.get('device', 'cpu') == 'cuda':
        return (f'GPU: {m.get("gpu")} ({m.get("gpu_memory_gb")} GB, compute capability '
                f'{m.get("capability")}), CUDA {m.get("cuda")}, cuDNN {m.get("cudnn")}; '
                f'host CPU: {cpu}, {m["cores"]} cores; {software}.')
    return f'CPU: {cpu}, {m["cores"]} cores, {m["threads"]} torch threads; {software}.'


def _method_line(settings: dict) -> str:
    """How the run timed and measured memory, after its settings."""
    if settings.get('device', 'cpu') == 'cuda':
        tf32 = 'on' if settings.get('cudnn_tf32', True) else 'off'
        return (f'cuDNN autotuning (`cudnn.benchmark`) '
                f'{"on" if settings.get("cudnn_benchmark") else "off"}, TF32 convolutions '
                f'{tf32} (PyTorch\'s default) in the timed steps; the equality check ran on '
                f'the GPU, in float64 (eval and train) and in float32 with TF32 off (eval). '
                f'Peak train memory: CUDA\'s allocator (`max_memory_allocated`, reset for '
                f'each implementation) during two train steps, less what was allocated before '
                f'them.')
    return 'Peak train memory: resident set of a fresh process.'


def markdown(rows: List[Row], settings: dict) -> str:
    batch = settings['batch']
    precision = (f'AMP {settings["amp"]} (autocast; the loss and its backward start in '
                 f'float32)' if settings.get('amp') else 'fp32')
    peers_cl = (' Rows "<peer> channels-last": that peer with its weights and input in the '
                'channels-last format, as its training scripts offer.'
                if any(r.impl.endswith(' channels-last') for r in rows) else '')
    lines = [
        f'**{run_label(settings)}.** {_machine_line(settings)} '
        f'{precision}, batch {batch}, {settings["size"]}x{settings["size"]}, '
        f'{settings["repeats"]} interleaved repeats (median), {settings["warmup"]} warm-up '
        f'steps. Train step = forward + backward of the mean of every output. '
        f'{_method_line(settings)}{peers_cl}',
        '',
        '| model | implementation | params (M) | GFLOPs | eval img/s | train img/s '
        '| train GFLOP/s | peak train MB | mmfish speed-up (eval / train) | max rel. error |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for subject, group in _groups(rows).items():
        ours = next((r for r in group if r.impl == 'mmfish'), None)
        for r in group:
            ev, tr = r.throughput('eval', batch), r.throughput('train', batch)
            gflops = r.flops / 1e9 if r.flops else None
            # a train step costs about three forwards (forward, input and weight gradients)
            rate = 3 * gflops * tr if gflops and tr else None
            if ours is not None and r is not ours:
                ratio = (f'{ours.throughput("eval", batch) / ev:.2f}x / '
                         + (f'{ours.throughput("train", batch) / tr:.2f}x' if tr else '-'))
            else:
                ratio = ''
            err = _fmt(r.max_rel_err, '.1e', '')
            name = r.impl + (f' ({r.note})' if r.note else '')
            params = f'{r.params / 1e6:.2f}' if r.params else '-'
            lines.append(f'| {subject} | {name} | {params} | {_fmt(gflops, ".2f")} '
                         f'| {_fmt(ev, ".1f")} | {_fmt(tr, ".2f")} | {_fmt(rate, ".1f")} '
                         f'| {_fmt(r.peak_mb, ".0f")} | {ratio} | {err} |')
    label = run_label(settings)
    lines += onnx_lines(rows, settings)
    best = speedups(rows, batch)
    if best:
        lines += ['', f'mmfish against the fastest peer (throughput ratio; {label}):', '']
        for subject, modes in best.items():
            lines.append(f'- {subject}: eval {modes["eval"][0]:.2f}x ({modes["eval"][1]}), '
                         f'train {modes["train"][0]:.2f}x ({modes["train"][1]})')
    cp = [(s, g) for s, g in _groups(rows).items()
          if any(r.impl == 'mmfish with_cp' for r in g)]
    for subject, group in cp:
        base = next(r for r in group if r.impl == 'mmfish')
        with_cp = next(r for r in group if r.impl == 'mmfish with_cp')
        if base.peak_mb and with_cp.peak_mb:
            change = 1 - with_cp.peak_mb / base.peak_mb
            speed = with_cp.throughput('train', batch) / base.throughput('train', batch)
            lines.append(f'- {subject}: with_cp uses {with_cp.peak_mb:.0f} MB instead of '
                         f'{base.peak_mb:.0f} MB of peak training memory '
                         f'({abs(change):.0%} {"less" if change >= 0 else "more"}) at '
                         f'{speed:.2f}x the train throughput')
    layouts = layout_ratios(rows, batch)
    if layouts:
        lines += ['', f'mmfish\'s default layout against `channels_last=False` (NCHW), '
                      f'throughput ratio ({label}; the default is `channels_last=\'auto\'`, the '
                      f'layout measured faster for the device, ISA and mode, in runs since '
                      f'2026-12-06, and channels-last before):', '']
        for subject, modes in layouts.items():
            slower = [m for m, v in modes.items() if v < 1]
            verdict = (f': NCHW is faster in {" and ".join(slower)} here' if slower
                       else ': the default is at least as fast here')
            lines.append(f'- {subject}: eval {modes["eval"]:.2f}x, train '
                         f'{modes["train"]:.2f}x{verdict}')
    if any(r.impl == 'mmfish' for r in rows) and any(
            not r.impl.startswith('mmfish') for r in rows):
        behind = slower_than_peers(rows, batch)
        if behind:
            lines += ['', f'Where mmfish in its default configuration is slower than a peer '
                          f'({label}; mmfish\'s throughput over the peer\'s):', '']
            lines += [f'- {subject} {mode}: {ratio:.3f}x {peer}'
                      for subject, mode, peer, ratio in behind]
        else:
            lines += ['', f'mmfish in its default configuration is at least as fast as every '
                          f'peer in eval and train in this run ({label}).']
    lines += spread_lines(rows, label)
    if any(r.train_ops for r in rows):
        lines += ['', breakdown_markdown(rows, batch)]
    return '\n'.join(lines)


def spread_lines(rows: List[Row], label: str) -> List[str]:
    """The run's noise: how far each implementation's repeats spread, fastest to slowest over
    their median, at the median over implementations and at the largest, per mode."""
    parts = []
    for mode in ('eval', 'train'):
        spreads = sorted(((max(t) - min(t)) / statistics.median(t), f'{r.subject} {r.impl}')
                         for r in rows for t in [getattr(r, f'{mode}_s')] if t and len(t) > 1)
        if spreads:
            median = statistics.median(s for s, _ in spreads)
            parts.append(f'{mode} {median:.0%} at the median, {spreads[-1][0]:.0%} at the '
                         f'largest ({spreads[-1][1]})')
    if not parts:
        return []
    return ['', f'The noise of this run ({label}): each implementation\'s repeats spread from '
                f'fastest to slowest by ' + '; '.join(parts) + ' of their median. Ratios '
                'within a few percent do not order implementations.']


def onnx_lines(rows: List[Row], settings: dict) -> List[str]:
    """What the eval-only ONNX Runtime rows are, and their eval throughput over mmfish's
    eager PyTorch (none when the run has no such row)."""
    batch, found = settings['batch'], []
    for subject, group in _groups(rows).items():
        ours = next((r for r in group if r.impl == 'mmfish'), None)
        for r in group:
            if r.impl in EVAL_ONLY and ours is not None and r.eval_s:
                ratio = r.throughput('eval', batch) / ours.throughput('eval', batch)
                found.append(f'- {subject}: {ratio:.2f}x mmfish eager (check error '
                             f'{_fmt(r.max_rel_err, ".1e")})')
    if not found:
        return []
    m = settings['machine']
    version = m.get('onnxruntime') or 'version not recorded'
    return ['', f'Row "mmfish ONNX Runtime": mmfish\'s model exported with '
                f'`torch.onnx.export(dynamo=True)` (mmfish.deploy.export_onnx) for this batch '
                f'and size, run by onnxruntime {version} (CPU provider, {m["threads"]} '
                f'intra-op threads as torch, no spin-waiting between runs), timed in eval '
                f'only, interleaved with the others; its error: onnxruntime against PyTorch '
                f'in float32. Its eval throughput over mmfish eager PyTorch '
                f'({run_label(settings)}):', ''] + found


def layout_ratios(rows: List[Row], batch: int) -> Dict[str, Dict[str, float]]:
    """Per subject with an ``mmfish NCHW`` row: mmfish's (channels-last) throughput over the
    NCHW layout's, in eval and train."""
    out = {}
    for subject, group in _groups(rows).items():
        ours = next((r for r in group if r.impl == 'mmfish'), None)
        nchw = next((r for r in group if r.impl == 'mmfish NCHW'), None)
        if ours is None or nchw is None:
            continue
        out[subject] = {mode: ours.throughput(mode, batch) / nchw.throughput(mode, batch)
                        for mode in ('eval', 'train')}
    return out


def slower_than_peers(rows: List[Row], batch: int) -> List[tuple]:
    """``(subject, mode, peer, ratio)`` wherever mmfish in its default configuration has a
    lower throughput than a peer (``ratio`` < 1: mmfish's throughput over the peer's)."""
    out = []
    for subject, group in _groups(rows).items():
        ours = next((r for r in group if r.impl == 'mmfish'), None)
        if ours is None:
            continue
        for mode in ('eval', 'train'):
            for peer in group:
                if peer.impl.startswith('mmfish'):
                    continue
                ratio = ours.throughput(mode, batch) / peer.throughput(mode, batch)
                if ratio < 1:
                    out.append((subject, mode, peer.impl, ratio))
    return out


#: the train-step speed-up over the fastest peer that the breakdown's budget line refers to
TARGET_SPEEDUP = 1.25


def breakdown_markdown(rows: List[Row], batch: int) -> str:
    """Milliseconds per operator category of one train step, per implementation, and per
    model the ceiling that mmfish's own convolutions put on its speed-up over the fastest
    peer."""
    lines = [
        'Where a train step\'s time goes (milliseconds per operator category, each operator '
        'timed on its own, median of the breakdown steps; "all" is their sum):',
        '',
        '| model | implementation | ' + ' | '.join(ORDER) + ' | all | not convolutions |',
        '|---|---|' + '---:|' * (len(ORDER) + 2),
    ]
    for subject, group in _groups(rows).items():
        for r in group:
            if not r.train_ops:
                continue
            ops = r.train_ops
            rest = ops['total'] - ops['convolutions']
            lines.append(f'| {subject} | {r.impl} | '
                         + ' | '.join(f'{1000 * ops[c]:.0f}' for c in ORDER)
                         + f' | {1000 * ops["total"]:.0f} | {1000 * rest:.0f} '
                           f'({rest / ops["total"]:.0%}) |')
    notes = []
    best = speedups(rows, batch)
    for subject, group in _groups(rows).items():
        ours = next((r for r in group if r.impl == 'mmfish' and r.train_ops), None)
        if ours is None or subject not in best:
            continue
        peer = next((r for r in group if r.impl == best[subject]['train'][1]), None)
        if peer is None or not peer.train_ops:
            continue
        room = budget(ours.train_ops, peer.train_ops, TARGET_SPEEDUP)
        rest = ours.train_ops['total'] - ours.train_ops['convolutions']
        reach = (f'for {TARGET_SPEEDUP:.2f}x the rest may take {1000 * room:.0f} ms'
                 if room > 0 else
                 f'{TARGET_SPEEDUP:.2f}x is out of reach: its convolutions alone take longer '
                 f"than {1 / TARGET_SPEEDUP:.0%} of the peer's step")
        notes.append(
            f'- {subject}: with no time at all outside its convolutions mmfish would be '
            f'{ceiling(ours.train_ops, peer.train_ops):.2f}x {peer.impl}; {reach} '
            f'(mmfish: {1000 * rest:.0f} ms outside them)')
    if notes:
        lines += ['', 'Convolutions set the ceiling (fastest peer by train throughput):',
                  ''] + notes
    return '\n'.join(lines)


def plot(rows: List[Row], batch: int, path: str) -> None:
    """Grouped bars of eval and train throughput, one group per model."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    groups = _groups(rows)
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.9 + 0.45 * len(rows)), sharey=True)
    labels = [f'{r.subject} · {r.impl}' for g in groups.values() for r in g]
    colours = ['tab:orange' if r.impl.startswith('mmfish') else 'tab:blue'
               for g in groups.values() for r in g]
    for ax, mode in zip(axes, ('eval', 'train')):
        values = [r.throughput(mode, batch) or 0 for g in groups.values() for r in g]
        ax.barh(range(len(values)), values, color=colours)
        ax.set_title(f'{mode} throughput (images/s, batch {batch})')
        ax.grid(axis='x', alpha=0.3)
        for i, v in enumerate(values):
            ax.text(v, i, f' {v:.1f}', va='center', fontsize=8)
    axes[0].set_yticks(range(len(labels)), labels, fontsize=8)
    axes[0].invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
