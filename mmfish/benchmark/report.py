"""Tables and plots of benchmark rows."""
from typing import Dict, List, Optional

from .breakdown import ORDER, budget, ceiling
from .core import Row

BEGIN, END = '<!-- benchmark:begin -->', '<!-- benchmark:end -->'


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


def markdown(rows: List[Row], settings: dict) -> str:
    batch = settings['batch']
    m = settings['machine']
    lines = [
        f'Machine: {m["cpu"]}, {m["cores"]} cores, {m["threads"]} torch threads; '
        f'torch {m["torch"]}, Python {m["python"]}; {m["date"]}. '
        f'fp32, batch {batch}, {settings["size"]}x{settings["size"]}, '
        f'{settings["repeats"]} interleaved repeats (median), {settings["warmup"]} warm-up '
        f'steps. Train step = forward + backward of the mean of every output.',
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
                         f'{ours.throughput("train", batch) / tr:.2f}x')
            else:
                ratio = ''
            err = _fmt(r.max_rel_err, '.1e', '')
            name = r.impl + (f' ({r.note})' if r.note else '')
            lines.append(f'| {subject} | {name} | {r.params / 1e6:.2f} | {_fmt(gflops, ".2f")} '
                         f'| {_fmt(ev, ".1f")} | {_fmt(tr, ".2f")} | {_fmt(rate, ".1f")} '
                         f'| {_fmt(r.peak_mb, ".0f")} | {ratio} | {err} |')
    best = speedups(rows, batch)
    if best:
        lines += ['', 'mmfish against the fastest peer (throughput ratio):', '']
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
    if any(r.train_ops for r in rows):
        lines += ['', breakdown_markdown(rows, batch)]
    return '\n'.join(lines)


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
        notes.append(
            f'- {subject}: with no time at all outside its convolutions mmfish would be '
            f'{ceiling(ours.train_ops, peer.train_ops):.2f}x {peer.impl}; for '
            f'{TARGET_SPEEDUP:.2f}x the rest may take {1000 * room:.0f} ms '
            f'(mmfish: {1000 * rest:.0f} ms)')
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
