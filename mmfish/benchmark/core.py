"""Measure implementations of one model side by side.

For each subject: build every available implementation, give the peers random weights (with
non-trivial BatchNorm statistics), convert each peer's weights with mmfish's converter into
mmfish's model and check that both compute the same outputs; then count parameters and FLOPs,
time eval forwards and train steps (forward + backward) with the implementations interleaved
and repeated, and measure each one's peak training memory in a fresh process.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from . import breakdown as breakdown_mod
from . import peers as peers_mod
from .peers import SUBJECTS, Impl, PeerUnavailable, Subject

#: outputs of mmfish and a peer given the same weights, computed in float64, may differ by
#: this much (relative to the largest output magnitude). A different order of additions (a
#: mean instead of a pool, another convolution algorithm) moves the outputs of these deep
#: random networks by up to ~1e-4 in float32 and ~1e-9 in float64; a different computation
#: by far more (the avd pool on the other side of ResNeSt's split-attention conv: ~1e-1)
EQUALITY_TOLERANCE = 1e-6
#: the same in train mode, where BatchNorm normalises with the batch's statistics: a
#: channels-last BatchNorm sums in another order than an NCHW one, and through 50-100
#: normalised random layers that moves float64 outputs by up to ~2e-6 (mmfish's NCHW layout
#: matches every OpenMMLab and timm peer exactly: 0.0). Frozen norms or another block differ
#: by orders of magnitude more (mmdet's default ``norm_eval=True``: ~10)
TRAIN_EQUALITY_TOLERANCE = 1e-4

#: extra mmfish rows that ``also`` can ask for
ALSO = {
    'nchw': ('mmfish NCHW', dict(channels_last=False)),
    'with_cp': ('mmfish with_cp', dict(with_cp=True)),
    'compile': ('mmfish compiled', {}),
}


class EqualityError(AssertionError):
    """mmfish and a peer, given the same weights, do not compute the same outputs."""


@dataclass
class Row:
    subject: str
    impl: str
    params: int = 0
    flops: Optional[float] = None  # per image, at the benchmark's input size
    eval_s: List[float] = field(default_factory=list)  # seconds per batch, each repeat
    train_s: List[float] = field(default_factory=list)
    peak_mb: Optional[float] = None
    max_rel_err: Optional[float] = None  # against mmfish given the same weights
    note: str = ''
    #: seconds of one train step per operator category (see :mod:`.breakdown`), if measured
    train_ops: Optional[Dict[str, float]] = None

    def throughput(self, mode: str, batch: int) -> Optional[float]:
        times = self.eval_s if mode == 'eval' else self.train_s
        return batch / statistics.median(times) if times else None


# -- models -----------------------------------------------------------------------------------
def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every norm layer random affine parameters and running statistics (in place), so
    that equality checks in eval mode exercise them; convolutions keep their random init."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
    return model


def outputs(model: nn.Module, x: torch.Tensor) -> tuple:
    out = model(x)
    return tuple(out) if isinstance(out, (tuple, list)) else (out, )


def max_rel_error(ours: Sequence[torch.Tensor], theirs: Sequence[torch.Tensor]) -> float:
    """Largest absolute difference of each output, relative to the largest magnitude of the
    reference output; the maximum over outputs."""
    if len(ours) != len(theirs):
        raise EqualityError(f'{len(ours)} outputs against {len(theirs)}')
    errs = []
    for a, b in zip(ours, theirs):
        if a.shape != b.shape:
            raise EqualityError(f'output shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}')
        errs.append(((a.float() - b.float()).abs().max()
                     / b.float().abs().max().clamp_min(1e-12)).item())
    return max(errs)


def set_mode(model: nn.Module, train: bool) -> None:
    # mmdet's and mmseg's ResNet.train() return None: never chain it
    model.train(train)


def mmfish_from_peer(subject: Subject, peer: Impl, peer_model: nn.Module, workdir: str,
                     **kwargs) -> nn.Module:
    """Save the peer's weights as its users would, convert them with mmfish's converter and
    load the result strictly into mmfish's model."""
    from ..converters import convert_checkpoint
    src, dst = os.path.join(workdir, 'peer.pth'), os.path.join(workdir, 'mmfish.pth')
    torch.save(peer.checkpoint(peer_model), src)
    convert_checkpoint(subject.family, src, dst, log=lambda s: None)
    state = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    model = subject.mmfish.build(**kwargs)
    if subject.output == 'logits':
        model.classifier.load_state_dict(state, strict=True)
    else:
        model.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()
                               if k.startswith('backbone.')}, strict=True)
    return model


def count_flops(model: nn.Module, size: int) -> Optional[float]:
    """FLOPs of one image (MMEngine's FlopAnalyzer: one multiply-add counts as one)."""
    from mmengine.analysis import FlopAnalyzer
    set_mode(model, False)
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(model, (torch.rand(1, 3, size, size), ))
            analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return float(analyzer.total())
    except Exception:  # a peer that the tracer cannot follow: no FLOP figure for it
        return None


# -- timing -----------------------------------------------------------------------------------
def train_step(model: nn.Module, x: torch.Tensor) -> None:
    for p in model.parameters():
        p.grad = None
    sum(o.float().mean() for o in outputs(model, x)).backward()


def eval_step(model: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        outputs(model, x)


def time_interleaved(models: Dict[str, nn.Module], x: torch.Tensor, mode: str, repeats: int,
                     warmup: int, log: Callable[[str], None] = print) -> Dict[str, List[float]]:
    """Seconds per step of each model; each repeat runs every model once, in an order that
    rotates between repeats, so that drifts of the machine fall on all of them alike."""
    step = train_step if mode == 'train' else eval_step
    names = list(models)
    for name in names:
        set_mode(models[name], mode == 'train')
        for _ in range(warmup):
            step(models[name], x)
    times = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            start = time.perf_counter()
            step(models[name], x)
            times[name].append(time.perf_counter() - start)
        log(f'    {mode} repeat {r + 1}/{repeats}: ' + ', '.join(
            f'{n} {statistics.median(t):.3f}s' for n, t in times.items()))
    return times


# -- peak memory ------------------------------------------------------------------------------
def peak_memory_mb(subject: str, impl: str, batch: int, size: int, kwargs: dict,
                   official_fishnet: Optional[str] = None) -> float:
    """Peak resident memory added by training steps, measured in a fresh Python process
    (``python -m mmfish.benchmark.memory``): the high-water mark of the process during two
    train steps minus its resident size after the model and the input were built."""
    cmd = [sys.executable, '-m', 'mmfish.benchmark.memory', subject, impl, str(batch),
           str(size), json.dumps(kwargs)]
    if official_fishnet:
        cmd.append(official_fishnet)
    env = dict(os.environ, PYTHONWARNINGS='ignore',
               # large blocks straight from the kernel and back, so that freed activations
               # leave the resident set and the high-water mark is the live peak
               MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith('{')]
    if res.returncode or not lines:
        raise RuntimeError(f'memory measurement of {subject}/{impl} failed:\n{res.stderr[-2000:]}')
    return json.loads(lines[-1])['peak_mb']


def build_impl(subject: Subject, impl_name: str, kwargs: dict) -> nn.Module:
    impl = next((i for i in subject.impls if i.name == impl_name), None)
    if impl is None:
        raise KeyError(f'{subject.name} has no implementation {impl_name!r}; valid: '
                       f'{", ".join(i.name for i in subject.impls)}')
    return impl.build(**kwargs) if impl is subject.mmfish else impl.build()


# -- one subject ------------------------------------------------------------------------------
def build_peers(subject: Subject, seed: int = 0, log: Callable[[str], None] = print) -> list:
    """``[(impl, model)]`` for every peer that is available here, with random weights."""
    built = []
    for impl in subject.peers:
        try:
            model = impl.build()
        except PeerUnavailable as exc:
            log(f'  {impl.name}: skipped, {exc}')
            continue
        built.append((impl, randomize_(model, seed)))
    return built


def check_equality(subject: Subject, peer_models: list, size: int = 224, seed: int = 0,
                   tolerance: float = EQUALITY_TOLERANCE,
                   train_tolerance: float = TRAIN_EQUALITY_TOLERANCE,
                   log: Callable[[str], None] = print):
    """Convert each peer's weights into mmfish's model and compare outputs on random images
    in float64, where only a different computation (not a different order of additions) can
    leave a difference; raise :class:`EqualityError` beyond ``tolerance``. Both modes are
    compared: eval (running statistics) and train (batch statistics, what a train step
    computes; a peer whose ``train()`` keeps its norms frozen fails here).

    Returns mmfish's model (float32) with the first peer's weights (random weights when no
    peer is available) and ``{peer: max relative error}``.
    """
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(seed),
                   dtype=torch.float64)
    first, errors = None, {}
    with tempfile.TemporaryDirectory() as tmp:
        for impl, peer_model in peer_models:
            candidate = mmfish_from_peer(subject, impl, peer_model, tmp)
            for m in (candidate, peer_model):
                m.double()
            errs = {}
            for mode in ('eval', 'train'):  # eval first: a train forward moves running stats
                for m in (candidate, peer_model):
                    set_mode(m, mode == 'train')
                with torch.no_grad():
                    errs[mode] = max_rel_error(outputs(candidate, x), outputs(peer_model, x))
            for m in (candidate, peer_model):
                m.float()
            log(f'  {impl.name}: converted weights, max relative output error (float64) '
                f'eval {errs["eval"]:.1e}, train {errs["train"]:.1e}')
            for mode, err in errs.items():
                limit = tolerance if mode == 'eval' else max(tolerance, train_tolerance)
                if err > limit:
                    raise EqualityError(
                        f'{subject.name}: mmfish and {impl.name} given the same weights '
                        f'differ by {err:.2e} (> {limit:.0e}) in float64 in {mode} mode')
            errors[impl.name] = max(errs.values())
            first = first or candidate
    if first is None:
        first = randomize_(subject.mmfish.build(), seed)
    return first, errors


def benchmark_subject(subject: Subject, batch: int = 8, size: int = 224, repeats: int = 10,
                      warmup: int = 2, memory: bool = True, also: Sequence[str] = (),
                      official_fishnet: Optional[str] = None, seed: int = 0,
                      breakdown_steps: int = 0,
                      log: Callable[[str], None] = print) -> List[Row]:
    """Rows of every implementation of ``subject``; with ``breakdown_steps``, also where each
    one's train step spends its time (``Row.train_ops``, the median of that many steps)."""
    log(f'== {subject.name}')
    torch.manual_seed(seed)
    peer_models = build_peers(subject, seed, log)
    models: Dict[str, nn.Module] = {}
    rows: Dict[str, Row] = {}
    build_kwargs: Dict[str, Optional[dict]] = {}
    errors = {}
    if subject.mmfish is not None:
        ours, errors = check_equality(subject, peer_models, size, seed, log=log)
        models['mmfish'], build_kwargs['mmfish'] = ours, {}
        for key in also:
            label, kwargs = ALSO[key]
            if key == 'compile':
                models[label] = torch.compile(ours)
            else:
                models[label] = subject.mmfish.build(**kwargs)
                models[label].load_state_dict(ours.state_dict())
            build_kwargs[label] = kwargs
    for impl, peer_model in peer_models:
        models[impl.name], build_kwargs[impl.name] = peer_model, None
    notes = {impl.name: impl.note for impl, _ in peer_models}
    for name, model in models.items():
        rows[name] = Row(subject.name, name, max_rel_err=errors.get(name),
                         note=notes.get(name, ''))
        if 'compiled' not in name:
            rows[name].params = sum(p.numel() for p in model.parameters())
            rows[name].flops = count_flops(model, size)
    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(seed + 1))
    log(f'  timing {", ".join(models)}: batch {batch}, {size}x{size}, {repeats} repeats')
    for mode in ('eval', 'train'):
        for name, t in time_interleaved(models, x, mode, repeats, warmup, log).items():
            setattr(rows[name], f'{mode}_s', t)
    if breakdown_steps:
        log(f'  operator breakdown of the train step: {breakdown_steps} steps')
        eager = {n: m for n, m in models.items() if 'compiled' not in n}
        for m in eager.values():
            set_mode(m, True)
        ops = breakdown_mod.breakdown(eager, lambda m: train_step(m, x), breakdown_steps, log)
        for name, seconds in ops.items():
            rows[name].train_ops = seconds
    if memory:
        for name in models:
            if 'compiled' in name:
                continue
            impl = 'mmfish' if build_kwargs[name] is not None else name
            rows[name].peak_mb = peak_memory_mb(subject.name, impl, batch, size,
                                                build_kwargs[name] or {}, official_fishnet)
            log(f'  {name}: peak training memory {rows[name].peak_mb:.0f} MB')
    return list(rows.values())


def run(subjects: Sequence[str], official_fishnet: Optional[str] = None, **kwargs) -> List[Row]:
    """Benchmark the named subjects (keys of :data:`SUBJECTS`)."""
    unknown = [s for s in subjects if s not in SUBJECTS]
    if unknown:
        raise KeyError(f'unknown model(s) {unknown}; valid: {", ".join(SUBJECTS)}')
    peers_mod.OFFICIAL_FISHNET_DIR = official_fishnet
    rows = []
    for name in subjects:
        rows += benchmark_subject(SUBJECTS[name], official_fishnet=official_fishnet, **kwargs)
    return rows


def machine() -> dict:
    """What the figures depend on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return dict(cpu=cpu, cores=os.cpu_count(), threads=torch.get_num_threads(),
                torch=torch.__version__, python=platform.python_version(),
                date=time.strftime('%Y-%m-%d'))


def save_json(rows: List[Row], settings: dict, path: str) -> None:
    with open(path, 'w') as f:
        json.dump(dict(settings=settings, rows=[asdict(r) for r in rows]), f, indent=1)


def load_json(path: str):
    """The rows and settings of a run saved by :func:`save_json`."""
    with open(path) as f:
        data = json.load(f)
    return [Row(**r) for r in data['rows']], data['settings']
