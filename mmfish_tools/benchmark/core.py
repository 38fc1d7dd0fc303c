"""Measure implementations of one model side by side.

For each subject: build every available implementation, give the peers random weights (with
non-trivial BatchNorm statistics), convert each peer's weights with mmfish's converter into
mmfish's model and check that both compute the same outputs; then count parameters and FLOPs,
time eval forwards and train steps (forward + backward) with the implementations interleaved
and repeated, and measure each one's peak training memory (on the CPU in a fresh process, on
a GPU from CUDA's allocator).

The equality check runs in float64 on the device; on a GPU (``device='cuda'``) eval outputs
are also compared in float32 with TF32 off. Timing runs in float32 or, with ``amp``, under
autocast (``'fp16'``, ``'bf16'``).
"""
import contextlib
import copy
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from mmfish.testing import max_rel_error, randomize_norms

from .. import python_env
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
#: on a GPU, the float64 check above runs there, and then eval outputs are compared in float32
#: with TF32 off, the precision that is timed: at most this far apart (the order of additions
#: moves them by ~1e-6 to ~4e-5, another computation by ~1e-1). Train mode cannot be compared
#: in float32: rounding amplified through the batch-statistic norms of these deep random
#: networks reaches ~2e-1 (ResNeSt-101 against timm's, same weights) against ~1 for another
#: function
FLOAT32_EQUALITY_TOLERANCE = 1e-3

#: the devices the benchmark runs on, and the autocast dtypes of ``amp``
DEVICES = ('cpu', 'cuda')
AMP_DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}

#: extra mmfish rows that ``also`` can ask for
ALSO = {
    'nchw': ('mmfish NCHW', dict(channels_last=False)),
    'channels-last': ('mmfish channels-last', dict(channels_last=True)),
    'with_cp': ('mmfish with_cp', dict(with_cp=True)),
    'compile': ('mmfish compiled', {}),
    'onnx': ('mmfish ONNX Runtime', {}),
}
#: the rows that are timed in eval only (no train step, FLOPs, parameters or memory)
EVAL_ONLY = ('mmfish ONNX Runtime', )


class EqualityError(AssertionError):
    """mmfish and a peer, given the same weights, do not compute the same outputs."""


class DeviceUnavailable(RuntimeError):
    """The device (or the precision on it) that a run asks for is not on this machine."""


def no_cuda_reason() -> str:
    """Why ``torch.cuda.is_available()`` is False here, in words."""
    if torch.version.cuda is None:
        return f'torch {torch.__version__} is a CPU-only build'
    return (f'torch {torch.__version__}, built with CUDA {torch.version.cuda}, finds no CUDA '
            f'device: no NVIDIA GPU or driver is visible')


def autocast_dtype(device: str, amp: Optional[str]) -> Optional[torch.dtype]:
    """The autocast dtype of a run on ``device`` with mixed precision ``amp`` (None: fp32).

    Raises ``ValueError`` for an unknown device or precision and for fp16 on the CPU (CPU
    mixed precision is bf16), :class:`DeviceUnavailable` when ``device='cuda'`` and no CUDA
    device is available, or the GPU has no bf16.
    """
    if device not in DEVICES:
        raise ValueError(f'unknown device {device!r}; valid: {", ".join(DEVICES)}')
    if amp is not None and amp not in AMP_DTYPES:
        raise ValueError(f'unknown mixed precision {amp!r}; valid: {", ".join(AMP_DTYPES)}')
    if device == 'cpu' and amp == 'fp16':
        raise ValueError('fp16 autocast is for the GPU (--device cuda); mixed precision on the '
                         'CPU is bf16 (--amp bf16)')
    if device == 'cuda':
        if not torch.cuda.is_available():
            raise DeviceUnavailable(f'no CUDA device is available: {no_cuda_reason()}')
        if amp == 'bf16' and not torch.cuda.is_bf16_supported():
            raise DeviceUnavailable(f'{torch.cuda.get_device_name()} has no bf16 support: use '
                                    f'--amp fp16')
    return AMP_DTYPES[amp] if amp else None


def check_also(also: Sequence[str], device: str = 'cpu', amp: Optional[str] = None) -> None:
    """Refuse (``ValueError``) an unknown extra row, and the ONNX Runtime row anywhere but on
    the CPU in float32 (its session runs there)."""
    unknown = [key for key in also if key not in ALSO]
    if unknown:
        raise ValueError(f'unknown extra row(s) {unknown}; valid: {", ".join(ALSO)}')
    if 'onnx' in also and (device != 'cpu' or amp):
        raise ValueError('the ONNX Runtime row (--also onnx) runs on the CPU in float32: '
                         'leave it out with --device cuda or --amp')


def autocast(device: str, dtype: Optional[torch.dtype]):
    """``torch.autocast`` to ``dtype`` on ``device``; no autocast for ``None`` (fp32)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device, dtype=dtype)


@contextlib.contextmanager
def tf32_off():
    """Full float32 matrix products and convolutions on the GPU (no TF32) inside the block;
    the previous settings afterwards."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def synchronize(device: str) -> None:
    """Wait for the kernels queued on ``device`` (a no-op on the CPU, where they run at once)."""
    if device == 'cuda':
        torch.cuda.synchronize()


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
def outputs(model: nn.Module, x: torch.Tensor) -> tuple:
    out = model(x)
    return tuple(out) if isinstance(out, (tuple, list)) else (out, )


def set_mode(model: nn.Module, train: bool) -> None:
    # mmdet's and mmseg's ResNet.train() return None: never chain it
    model.train(train)


def mmfish_from_peer(subject: Subject, peer: Impl, peer_model: nn.Module, workdir: str,
                     **kwargs) -> nn.Module:
    """Save the peer's weights as its users would, convert them with mmfish's converter and
    load the result strictly into mmfish's model."""
    from mmfish.weights import convert_checkpoint
    from mmfish.variants import VARIANTS
    src, dst = os.path.join(workdir, 'peer.pth'), os.path.join(workdir, 'mmfish.pth')
    torch.save(peer.checkpoint(peer_model), src)
    # the subject is a released variant: name it (ResNeSt-50's weights fit two of them)
    convert_checkpoint(subject.family, src, dst, log=lambda s: None,
                       variant=subject.name if subject.name in VARIANTS else None)
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
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(model, (torch.rand(1, 3, size, size, device=device), ))
            analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return float(analyzer.total())
    except Exception:  # a peer that the tracer cannot follow: no FLOP figure for it
        return None


class OrtModel(nn.Module):
    """An ONNX file run by onnxruntime on the CPU, called like the PyTorch model it was
    exported from (a tensor in, a tuple of tensors out), with ``threads`` intra-op threads
    (as many as torch uses, so that both run on the same cores). Its threads do not
    spin-wait once a run is over (onnxruntime's default), which would keep the cores busy
    while the PyTorch steps interleaved with it are timed."""

    def __init__(self, path: str, threads: Optional[int] = None):
        super().__init__()
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name

    def forward(self, x):
        outs = self.session.run(None, {self.input_name: x.detach().cpu().float().numpy()})
        return tuple(torch.from_numpy(o) for o in outs)


def onnx_row_model(model: nn.Module, batch: int, size: int) -> tuple:
    """``(OrtModel, max relative error)``: ``model`` exported with
    :func:`mmfish.deploy.export_onnx` for ``batch`` x 3 x ``size`` x ``size`` inputs and
    checked in onnxruntime against PyTorch (float32); the session holds the graph, the file
    is removed."""
    from mmfish.deploy import export_onnx
    with tempfile.TemporaryDirectory() as tmp:
        result = export_onnx(model, os.path.join(tmp, 'model.onnx'), size=(size, size),
                             batch=batch)
        return OrtModel(result['path']), result['max_rel_err']


# -- timing -----------------------------------------------------------------------------------
def train_step(model: nn.Module, x: torch.Tensor, amp: Optional[torch.dtype] = None) -> None:
    """Forward (under autocast to ``amp`` if given), then backward of the float32 mean of
    every output."""
    for p in model.parameters():
        p.grad = None
    with autocast(x.device.type, amp):
        outs = outputs(model, x)
    sum(o.float().mean() for o in outs).backward()


def eval_step(model: nn.Module, x: torch.Tensor, amp: Optional[torch.dtype] = None) -> None:
    with torch.no_grad(), autocast(x.device.type, amp):
        outputs(model, x)


def time_interleaved(models: Dict[str, nn.Module], x: torch.Tensor, mode: str, repeats: int,
                     warmup: int, log: Callable[[str], None] = print,
                     amp: Optional[torch.dtype] = None) -> Dict[str, List[float]]:
    """Seconds per step of each model; each repeat runs every model once, in an order that
    rotates between repeats, so that drifts of the machine fall on all of them alike. On a
    GPU each step is timed from an idle device until its last kernel has finished."""
    step = train_step if mode == 'train' else eval_step
    device = x.device.type
    names = list(models)
    for name in names:
        set_mode(models[name], mode == 'train')
        for _ in range(warmup):
            step(models[name], x, amp)
    times = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            synchronize(device)
            start = time.perf_counter()
            step(models[name], x, amp)
            synchronize(device)
            times[name].append(time.perf_counter() - start)
        log(f'    {mode} repeat {r + 1}/{repeats}: ' + ', '.join(
            f'{n} {statistics.median(t):.3f}s' for n, t in times.items()))
    return times


# -- peak memory ------------------------------------------------------------------------------
def peak_memory_mb(subject: str, impl: str, batch: int, size: int, kwargs: dict,
                   official_fishnet: Optional[str] = None, amp: Optional[str] = None,
                   channels_last: bool = False) -> float:
    """Peak resident memory added by training steps on the CPU, measured in a fresh Python
    process (``python -m mmfish_tools.benchmark.memory``): the high-water mark of the process
    during two train steps minus its resident size after the model and the input were built.
    ``channels_last`` runs a peer in the channels-last format (:class:`.peers.ChannelsLast`)."""
    cmd = [sys.executable, '-m', 'mmfish_tools.benchmark.memory', subject, impl, str(batch),
           str(size), json.dumps(kwargs)]
    if official_fishnet:
        cmd += ['--official-fishnet', official_fishnet]
    if amp:
        cmd += ['--amp', amp]
    if channels_last:
        cmd.append('--channels-last')
    # the checkout's root on its path: mmfish_tools is not installed
    env = dict(python_env(), PYTHONWARNINGS='ignore',
               # large blocks straight from the kernel and back, so that freed activations
               # leave the resident set and the high-water mark is the live peak
               MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith('{')]
    if res.returncode or not lines:
        raise RuntimeError(f'memory measurement of {subject}/{impl} failed:\n{res.stderr[-2000:]}')
    return json.loads(lines[-1])['peak_mb']


def cuda_peak_memory_mb(model: nn.Module, x: torch.Tensor, amp: Optional[torch.dtype] = None,
                        steps: int = 2) -> float:
    """Peak GPU memory added by ``steps`` train steps, from CUDA's caching allocator: its
    high-water mark of allocated memory (reset first) minus what was allocated before the
    steps, with this model's gradients freed (gradients, activations and workspace of a step,
    on top of the model and the input)."""
    set_mode(model, True)
    for p in model.parameters():
        p.grad = None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    for _ in range(steps):
        train_step(model, x, amp)
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


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
        built.append((impl, randomize_norms(model, seed)))
    return built


def check_equality(subject: Subject, peer_models: list, size: int = 224, seed: int = 0,
                   tolerance: float = EQUALITY_TOLERANCE,
                   train_tolerance: float = TRAIN_EQUALITY_TOLERANCE, device: str = 'cpu',
                   float32_eval: Optional[bool] = None, log: Callable[[str], None] = print):
    """Convert each peer's weights into mmfish's model and compare outputs on random images
    in float64 on ``device``, where only a different computation (not a different order of
    additions) can leave a difference; raise :class:`EqualityError` beyond ``tolerance``.
    Both modes are compared: eval (running statistics) and train (batch statistics, what a
    train step computes; a peer whose ``train()`` keeps its norms frozen fails here).

    With ``float32_eval`` (the default on a GPU), eval outputs are also compared in float32
    with TF32 off, within :data:`FLOAT32_EQUALITY_TOLERANCE`: the precision that is timed.

    Returns mmfish's model (float32, on ``device``) with the first peer's weights (random
    weights when no peer is available) and ``{peer: max relative error in float64}``; the
    peers are left on ``device`` in float32.
    """
    if float32_eval is None:
        float32_eval = device != 'cpu'
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, size, size, generator=gen, dtype=torch.float64).to(device)
    #: (precision, dtype, modes, tolerance of each mode); eval before train, since a train
    #: forward moves the running statistics
    checks = [('float64', torch.float64, dict(eval=tolerance,
                                              train=max(tolerance, train_tolerance)))]
    if float32_eval:
        checks.insert(0, ('float32, TF32 off', torch.float32,
                          dict(eval=FLOAT32_EQUALITY_TOLERANCE)))
    first, errors = None, {}
    with tempfile.TemporaryDirectory() as tmp, tf32_off():
        for impl, peer_model in peer_models:
            candidate = mmfish_from_peer(subject, impl, peer_model, tmp)
            for precision, dtype, limits in checks:
                for m in (candidate, peer_model):
                    m.to(device, dtype)
                errs = {}
                for mode in limits:
                    for m in (candidate, peer_model):
                        set_mode(m, mode == 'train')
                    with torch.no_grad():
                        try:
                            errs[mode] = max_rel_error(outputs(candidate, x.to(dtype)),
                                                       outputs(peer_model, x.to(dtype)))
                        except ValueError as exc:  # other output counts or shapes
                            raise EqualityError(str(exc)) from None
                log(f'  {impl.name}: converted weights, max relative output error '
                    f'({precision}, {device}) '
                    + ', '.join(f'{mode} {err:.1e}' for mode, err in errs.items()))
                for mode, err in errs.items():
                    if err > limits[mode]:
                        raise EqualityError(
                            f'{subject.name}: mmfish and {impl.name} given the same weights '
                            f'differ by {err:.2e} (> {limits[mode]:.0e}) in {precision} on '
                            f'{device} in {mode} mode')
                if dtype == torch.float64:
                    errors[impl.name] = max(errs.values())
            for m in (candidate, peer_model):
                m.float()
            first = first or candidate
    if first is None:
        first = randomize_norms(subject.mmfish.build(), seed).to(device)
    return first, errors


def benchmark_subject(subject: Subject, batch: int = 8, size: int = 224, repeats: int = 10,
                      warmup: int = 2, memory: bool = True, also: Sequence[str] = (),
                      official_fishnet: Optional[str] = None, seed: int = 0,
                      breakdown_steps: int = 0, device: str = 'cpu', amp: Optional[str] = None,
                      peers_channels_last: bool = False,
                      log: Callable[[str], None] = print) -> List[Row]:
    """Rows of every implementation of ``subject`` on ``device`` (``'cpu'``, ``'cuda'``), in
    float32 or under autocast to ``amp`` (``'fp16'``, ``'bf16'``); with
    ``peers_channels_last``, also every peer in the channels-last format (a row
    ``'<peer> channels-last'``); with ``breakdown_steps`` (CPU only), also where each one's
    train step spends its time (``Row.train_ops``, the median of that many steps)."""
    amp_dtype = autocast_dtype(device, amp)
    check_also(also, device, amp)
    if breakdown_steps and device != 'cpu':
        raise ValueError('the operator breakdown times kernels as they return, which only the '
                         'CPU does (GPU kernels run asynchronously): use --device cpu')
    log(f'== {subject.name}')
    torch.manual_seed(seed)
    peer_models = build_peers(subject, seed, log)
    models: Dict[str, nn.Module] = {}
    rows: Dict[str, Row] = {}
    #: how the memory measurement rebuilds each row: (impl, mmfish kwargs, channels-last peer)
    rebuild: Dict[str, tuple] = {}
    errors = {}
    if subject.mmfish is not None:
        ours, errors = check_equality(subject, peer_models, size, seed, device=device, log=log)
        models['mmfish'], rebuild['mmfish'] = ours, ('mmfish', {}, False)
        for key in also:
            label, kwargs = ALSO[key]
            if key == 'compile':
                models[label] = torch.compile(ours)
            elif key == 'onnx':
                models[label], errors[label] = onnx_row_model(ours, batch, size)
                log(f'  {label}: exported, onnxruntime against PyTorch max relative output '
                    f'error {errors[label]:.1e}')
            else:
                models[label] = subject.mmfish.build(**kwargs)
                models[label].load_state_dict(ours.state_dict())
                models[label].to(device)
            rebuild[label] = ('mmfish', kwargs, False)
    notes = {}
    for impl, peer_model in peer_models:
        models[impl.name] = peer_model.to(device)
        rebuild[impl.name] = (impl.name, {}, False)
        notes[impl.name] = impl.note
        if peers_channels_last:
            label = f'{impl.name} channels-last'
            models[label] = peers_mod.ChannelsLast(copy.deepcopy(peer_model))
            rebuild[label], notes[label] = (impl.name, {}, True), impl.note
    for name, model in models.items():
        rows[name] = Row(subject.name, name, max_rel_err=errors.get(name),
                         note=notes.get(name, ''))
        if 'compiled' not in name and name not in EVAL_ONLY:
            rows[name].params = sum(p.numel() for p in model.parameters())
            rows[name].flops = count_flops(model, size)
    x = torch.rand(batch, 3, size, size,
                   generator=torch.Generator().manual_seed(seed + 1)).to(device)
    log(f'  timing {", ".join(models)}: batch {batch}, {size}x{size}, {repeats} repeats, '
        f'{device}, {amp or "fp32"}')
    trainable = {n: m for n, m in models.items() if n not in EVAL_ONLY}
    for mode, timed in (('eval', models), ('train', trainable)):
        for name, t in time_interleaved(timed, x, mode, repeats, warmup, log,
                                        amp_dtype).items():
            setattr(rows[name], f'{mode}_s', t)
    if breakdown_steps:
        log(f'  operator breakdown of the train step: {breakdown_steps} steps')
        eager = {n: m for n, m in trainable.items() if 'compiled' not in n}
        for m in eager.values():
            set_mode(m, True)
        ops = breakdown_mod.breakdown(eager, lambda m: train_step(m, x, amp_dtype),
                                      breakdown_steps, log)
        for name, seconds in ops.items():
            rows[name].train_ops = seconds
    if memory:
        for name, model in models.items():
            if name in EVAL_ONLY:
                continue
            if device == 'cuda':
                rows[name].peak_mb = cuda_peak_memory_mb(model, x, amp_dtype)
            elif 'compiled' in name:
                continue
            else:
                impl, kwargs, channels_last = rebuild[name]
                rows[name].peak_mb = peak_memory_mb(subject.name, impl, batch, size, kwargs,
                                                    official_fishnet, amp, channels_last)
            log(f'  {name}: peak training memory {rows[name].peak_mb:.0f} MB')
    return list(rows.values())


def run(subjects: Sequence[str], official_fishnet: Optional[str] = None, **kwargs) -> List[Row]:
    """Benchmark the named subjects (keys of :data:`SUBJECTS`); ``kwargs`` go to
    :func:`benchmark_subject`."""
    unknown = [s for s in subjects if s not in SUBJECTS]
    if unknown:
        raise KeyError(f'unknown model(s) {unknown}; valid: {", ".join(SUBJECTS)}')
    autocast_dtype(kwargs.get('device', 'cpu'), kwargs.get('amp'))  # refuse before building
    check_also(kwargs.get('also', ()), kwargs.get('device', 'cpu'), kwargs.get('amp'))
    peers_mod.OFFICIAL_DIRS['fishnet'] = official_fishnet
    rows = []
    for name in subjects:
        rows += benchmark_subject(SUBJECTS[name], official_fishnet=official_fishnet, **kwargs)
    return rows


def cpu_capability() -> str:
    """The vector instruction set that PyTorch's CPU kernels use here (``'AVX2'``,
    ``'AVX512'``, ``'DEFAULT'``, ...: ``torch.backends.cpu.get_cpu_capability()``)."""
    return torch.backends.cpu.get_cpu_capability()


def onednn_version() -> Optional[str]:
    """The version of oneDNN (formerly MKL-DNN) that this torch was built with, from
    ``torch.__config__.show()``; None when torch has no oneDNN."""
    if not torch.backends.mkldnn.is_available():
        return None
    m = re.search(r'(?:oneDNN|MKL-DNN)\D*?v?(\d+(?:\.\d+)+)', torch.__config__.show())
    return m.group(1) if m else None


def onnxruntime_version() -> Optional[str]:
    """The installed onnxruntime's version, or None."""
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime.__version__


def machine(device: str = 'cpu') -> dict:
    """What the figures depend on: the CPU and its vector ISA (``isa``) with the oneDNN
    version, and on a GPU run the GPU, its CUDA and cuDNN versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name'))
    except (OSError, StopIteration):
        pass
    info = dict(cpu=cpu, isa=cpu_capability(), onednn=onednn_version(), cores=os.cpu_count(),
                threads=torch.get_num_threads(), torch=torch.__version__,
                python=platform.python_version(), date=time.strftime('%Y-%m-%d'),
                onnxruntime=onnxruntime_version())
    if device == 'cuda':
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=torch.cuda.get_device_name(0),
                    gpu_memory_gb=round(props.total_memory / 2**30, 1),
                    capability=f'{props.major}.{props.minor}', cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    return info


def save_json(rows: List[Row], settings: dict, path: str) -> None:
    with open(path, 'w') as f:
        json.dump(dict(settings=settings, rows=[asdict(r) for r in rows]), f, indent=1)


def load_json(path: str):
    """The rows and settings of a run saved by :func:`save_json`."""
    with open(path) as f:
        data = json.load(f)
    return [Row(**r) for r in data['rows']], data['settings']
