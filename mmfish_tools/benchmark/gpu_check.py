"""The GPU check: what needs an NVIDIA GPU, in one command (``make gpu-check``,
``python tools/gpu_check.py``) of at most about 5 minutes on one GPU, set-up aside.

1. The GPU tests (``pytest -m gpu tests/gpu``, skipped by ``make test`` without a GPU):

   - :func:`amp_check`: every benchmarked backbone forward (eval and train mode) and backward
     under fp16 and bf16 autocast, with no NaN or inf in outputs and gradients (ResNeSt's
     split-attention softmax, FishNet's deep concatenations);
   - :func:`cuda_ops_check`: mmcv's CUDA RoIAlign and NMS, which the toolboxes run on a
     backbone's outputs, on mmfish's outputs, against the same ops on the CPU;
   - :func:`syncbn_ddp_check`: torch's SyncBatchNorm (``convert_sync_batchnorm``) and mmfish's
     ``SyncBN`` in a 1-process DistributedDataParallel (NCCL) against BatchNorm;
   - :func:`train_twins`: one tiny twin per toolbox trained by ``mim train ... --gpus 1`` for a
     few iterations;
   - the benchmark tool on the GPU (fp16 and bf16), small.

2. The GPU benchmark (:func:`benchmark_runs`): ResNeSt-50, Res2Net-50 and FishNet-150 against
   their peers, fp32 and AMP, mmfish channels-last (and NCHW) against the peers in NCHW and in
   channels-last, batch 32 at 224, written to ``docs/benchmarks.md``'s GPU sections
   (``cuda-fp32``, ``cuda-fp16``) with their JSON and plots in ``docs/benchmarks/``.

Every check also runs on the CPU where that means something (``device='cpu'``: bf16
autocast, the ops' CPU kernels, ``gloo`` with mmfish's SyncBN), which is how the CPU test suite
tests them.
"""
import argparse
import copy
import math
import os
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from mmfish.testing import max_rel_error, randomize_norms

from .. import checkout_root
from .core import (
    AMP_DTYPES,
    autocast,
    autocast_dtype,
    no_cuda_reason,
    outputs,
    set_mode,
    synchronize,
    tf32_off,
)
from .peers import SUBJECTS

#: the backbones whose mixed precision :func:`amp_check` checks (FishNet: the classifier)
AMP_MODELS = ('resnest50', 'resnest101', 'res2net50-w26-s4', 'res2net50-v1b-w26-s4',
              'fishnet99', 'fishnet150')
#: the models of the GPU benchmark, and its settings
BENCH_MODELS = ('resnest50', 'res2net50-w26-s4', 'fishnet150')
BENCH_SETTINGS = dict(batch=32, size=224, repeats=6, warmup=2)
#: the tiny twins' iterations on the GPU
TWIN_ITERS = 4
#: what ``make gpu-check`` should take on one GPU, set-up aside
BUDGET_S = 300


class GpuCheckError(AssertionError):
    """A GPU check found something wrong; the message says what."""


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return nn.functional.cosine_similarity(a.flatten().double(), b.flatten().double(),
                                           dim=0).item()


def _finite(tensors) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def calibrate_norms_(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Set every BatchNorm's running statistics to those of the batch ``x`` (in place), as a
    trained network's are: random running statistics let eval-mode activations grow without
    bound through deep networks (FishNet-150's reach ~1e6, beyond fp16's range), which no
    trained model does. The affine parameters stay as they are."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: after one batch, the batch's statistics
    set_mode(model, True)
    with torch.no_grad():
        outputs(model, x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return model


# -- mixed precision ------------------------------------------------------------------------------
def amp_check(names: Sequence[str] = AMP_MODELS, device: str = 'cuda',
              dtypes: Sequence[str] = ('fp16', 'bf16'), batch: int = 8, size: int = 224,
              seed: int = 0, log: Callable[[str], None] = print) -> List[dict]:
    """Forward and backward of mmfish's models ``names`` (keys of
    :data:`~mmfish_tools.benchmark.SUBJECTS`) under autocast to each of ``dtypes`` on ``device``.

    Per model and dtype, returns: whether the eval outputs, the train outputs and every
    parameter gradient are finite, and the cosine similarity of the eval outputs with
    float32's (TF32 off), for information: random-weight networks amplify rounding, so it is
    no pass mark (ResNeSt-101's eval outputs under bf16 autocast at 224x224: ~0.7 on the
    CPU). The models have random weights and the running statistics of the batch
    (:func:`calibrate_norms_`). Raises :class:`GpuCheckError` when anything is not finite.
    """
    results, failures = [], []
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, size, size, generator=gen).to(device)
    for name in names:
        model = randomize_norms(SUBJECTS[name].mmfish.build(), seed).to(device)
        with tf32_off():
            calibrate_norms_(model, x)
            set_mode(model, False)
            with torch.no_grad():
                reference = outputs(model, x)
        for amp in dtypes:
            dtype = autocast_dtype(device, amp)
            set_mode(model, False)
            with torch.no_grad(), autocast(device, dtype):
                evaluated = outputs(model, x)
            cosine = min(_cosine(a.float(), b) for a, b in zip(evaluated, reference))
            train_model = copy.deepcopy(model)  # a train forward moves the running statistics
            set_mode(train_model, True)
            with autocast(device, dtype):
                trained = outputs(train_model, x)
            sum(o.float().mean() for o in trained).backward()
            grads = [p.grad for p in train_model.parameters() if p.requires_grad]
            synchronize(device)
            result = dict(model=name, amp=amp, out_dtype=str(evaluated[0].dtype),
                          eval_finite=_finite(evaluated), train_finite=_finite(trained),
                          grads_finite=all(g is not None for g in grads) and _finite(grads),
                          cosine=cosine)
            results.append(result)
            log(f'  {name} {amp}: eval outputs {result["out_dtype"]}, cosine with fp32 '
                f'{cosine:.5f}; finite: eval {result["eval_finite"]}, train '
                f'{result["train_finite"]}, gradients {result["grads_finite"]}')
            bad = [k for k in ('eval_finite', 'train_finite', 'grads_finite') if not result[k]]
            if bad:
                failures.append(f'{name} under {amp} autocast on {device}: NaN or inf in '
                                f'{", ".join(bad)}')
            del train_model, trained, grads
    if failures:
        raise GpuCheckError('; '.join(failures))
    return results


# -- the toolboxes' CUDA ops ------------------------------------------------------------------
def _mmcv_op(fn: Callable, device: str, *args):
    """``fn(*args)`` for an mmcv op; a clear error when mmcv was compiled without kernels for
    ``device``."""
    try:
        return fn(*args)
    except RuntimeError as exc:
        if 'not found' in str(exc) or 'compiled' in str(exc).lower():
            raise GpuCheckError(
                f'mmcv {__import__("mmcv").__version__} has no {device} kernel for this op '
                f'({exc}); it was compiled without CUDA ops. Rebuild it here with the CUDA '
                f'compiler from PyPI (README, set-up): make mmcv CUDA=1') from None
        raise


def _anchor_boxes(feature: torch.Tensor, stride: int) -> tuple:
    """Boxes of three sizes centred on every location of the first image's ``feature`` map,
    scored by the map's channel mean there (an RPN's input, from the backbone's output)."""
    _, _, h, w = feature.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                            torch.arange(w, dtype=torch.float32), indexing='ij')
    cx, cy = ((xs + 0.5) * stride).flatten(), ((ys + 0.5) * stride).flatten()
    boxes, scores = [], []
    score = feature[0].float().mean(0).flatten().cpu()
    for i, half in enumerate((stride, 2 * stride, 4 * stride)):
        boxes.append(torch.stack([cx - half, cy - half, cx + half, cy + half], 1))
        scores.append(score + 1e-3 * i)  # distinct scores: the kept set has one answer
    return torch.cat(boxes), torch.cat(scores)


def cuda_ops_check(device: str = 'cuda', size: int = 224, batch: int = 2, seed: int = 0,
                   log: Callable[[str], None] = print) -> dict:
    """mmcv's RoIAlign (as mmdet's RoI extractors use it: each level at its stride, aligned)
    and NMS on the outputs of mmfish's ResNeSt-50 computed on ``device``, against the same ops'
    CPU kernels on the same tensors.

    Returns the largest relative RoIAlign difference over the levels and the number of boxes
    NMS kept; raises :class:`GpuCheckError` when an output is not a contiguous NCHW tensor,
    RoIAlign differs by more than 1e-4 or NMS keeps other boxes.
    """
    from mmcv.ops import RoIAlign, nms
    gen = torch.Generator().manual_seed(seed)
    model = randomize_norms(SUBJECTS['resnest50'].mmfish.build(), seed).to(device)
    set_mode(model, False)
    with torch.no_grad():
        feats = outputs(model, torch.rand(batch, 3, size, size, generator=gen).to(device))
    if not all(f.is_contiguous() for f in feats):
        raise GpuCheckError('mmfish returned a level that is not a contiguous NCHW tensor; '
                            'mmcv ops read their input as raw NCHW memory')
    n = 16
    corner = torch.rand(n, 2, generator=gen) * size * 0.7
    extent = 8 + torch.rand(n, 2, generator=gen) * size * 0.3
    rois = torch.cat([torch.randint(0, batch, (n, 1), generator=gen).float(), corner,
                      corner + extent], 1)
    roi_err = 0.0
    for level, feat in enumerate(feats):
        op = RoIAlign((7, 7), spatial_scale=1 / (4 * 2**level), sampling_ratio=0, aligned=True)
        with torch.no_grad():
            ours = _mmcv_op(op, device, feat, rois.to(device)).cpu()
            ref = op(feat.cpu(), rois)
        roi_err = max(roi_err, max_rel_error(ours, ref))  # inf where either holds NaN
    boxes, scores = _anchor_boxes(feats[-1], 32)
    _, keep = _mmcv_op(nms, device, boxes.to(device), scores.to(device), 0.5)
    _, keep_ref = nms(boxes, scores, 0.5)
    same_nms = sorted(keep.cpu().tolist()) == sorted(keep_ref.tolist())
    log(f'  RoIAlign on 4 levels ({device} against cpu): max relative difference '
        f'{roi_err:.1e}; NMS kept {len(keep)} of {len(boxes)} boxes, '
        f'{"the same" if same_nms else "other"} boxes as on the CPU')
    if roi_err > 1e-4:
        raise GpuCheckError(f'RoIAlign on {device} differs from its CPU kernel by {roi_err:.2e} '
                            f'on mmfish\'s outputs')
    if not same_nms:
        raise GpuCheckError(f'NMS on {device} keeps other boxes than on the CPU: '
                            f'{sorted(keep.tolist())} against {sorted(keep_ref.tolist())}')
    return dict(roi_align_max_rel_err=roi_err, nms_kept=len(keep), boxes=len(boxes))


# -- SyncBN in DDP ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def syncbn_ddp_check(device: str = 'cuda', size: int = 224, batch: int = 4, seed: int = 0,
                     base_channels: int = 64,
                     log: Callable[[str], None] = print) -> Dict[str, float]:
    """One train step of mmfish's ResNeSt-50 (``base_channels`` wide) with synchronised
    BatchNorm in a 1-process DistributedDataParallel (NCCL on a GPU, gloo on the CPU),
    against the same model and weights with BatchNorm outside DDP. With one process the
    batch statistics are the batch's own, so outputs, gradients and running statistics must
    agree.

    On a GPU both torch's ``SyncBatchNorm`` (``convert_sync_batchnorm``, what MMEngine's
    ``sync_bn='torch'`` does) and mmfish's ``SyncBN`` are checked; on the CPU only mmfish's
    (torch's refuses CPU modules). Returns the largest relative difference per variant;
    raises :class:`GpuCheckError` beyond 1e-3 (float32, TF32 off).
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from mmfish.engine import SyncBatchNorm
    from mmfish.models import ResNeSt
    if dist.is_initialized():
        raise GpuCheckError('a process group exists already; run this check in a process '
                            'of its own')
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, size, size, generator=gen).to(device)
    reference = randomize_norms(ResNeSt(50, stem_channels=base_channels,
                                   base_channels=base_channels), seed).to(device)
    variants = {'mmfish SyncBN': lambda: _with_norm(reference, SyncBatchNorm)}
    if device != 'cpu':
        variants['torch SyncBatchNorm'] = lambda: nn.SyncBatchNorm.convert_sync_batchnorm(
            copy.deepcopy(reference))
    backend = 'nccl' if device == 'cuda' else 'gloo'
    dist.init_process_group(backend, init_method=f'tcp://127.0.0.1:{_free_port()}', rank=0,
                            world_size=1)
    errors = {}
    try:
        with tf32_off():
            synced_models = {name: make() for name, make in variants.items()}  # before a step
            expected = _step(reference, x)
            for name, synced in synced_models.items():
                kinds = {type(m).__name__ for m in synced.modules()
                         if isinstance(m, nn.modules.batchnorm._BatchNorm)}
                ddp = DistributedDataParallel(
                    synced, device_ids=[torch.cuda.current_device()] if device == 'cuda'
                    else None)
                got = _step(ddp, x, synced)
                errors[name] = max(
                    ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()
                    for a, b in zip(got, expected))
                log(f'  {name} ({", ".join(sorted(kinds))}) in a 1-process DDP ({backend}): '
                    f'outputs, gradients and running statistics within '
                    f'{errors[name]:.1e} of BatchNorm')
    finally:
        dist.destroy_process_group()
    bad = {k: v for k, v in errors.items() if not v <= 1e-3}
    if bad:
        raise GpuCheckError(f'synchronised BatchNorm in DDP on {device} differs from BatchNorm: '
                            + ', '.join(f'{k} {v:.2e}' for k, v in bad.items()))
    return errors


def _with_norm(model: nn.Module, cls: type) -> nn.Module:
    """A copy of ``model`` whose BatchNorm layers are ``cls`` layers with the same state."""
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for child_name, child in parent.named_children():
            if isinstance(child, nn.BatchNorm2d):
                layer = cls(child.num_features, child.eps, child.momentum, child.affine,
                            child.track_running_stats).to(child.weight.device)
                layer.load_state_dict(child.state_dict())
                setattr(parent, child_name, layer)
    return model


def _step(model: nn.Module, x: torch.Tensor, inner: Optional[nn.Module] = None) -> list:
    """One train step's outputs, parameter gradients and running statistics (flat list)."""
    inner = inner or model
    inner.train()
    for p in inner.parameters():
        p.grad = None
    outs = outputs(model, x)
    sum(o.float().pow(2).mean() for o in outs).backward()
    stats = [b for n, b in inner.named_buffers() if n.endswith(('running_mean', 'running_var'))]
    return ([o.detach() for o in outs] + [p.grad for p in inner.parameters()]
            + [s.detach().clone() for s in stats])


# -- tiny twins through mim -------------------------------------------------------------------
def twin_train_command(config: str, toolbox: str, work_dir: str, iters: int = TWIN_ITERS,
                       gpus: int = 1) -> List[str]:
    """``mim train <toolbox> <config> --gpus <gpus> --work-dir <work_dir> --cfg-options ...``:
    ``iters`` iterations, a log line each, no validation, and ``randomness.deterministic=False``
    (torch has no deterministic CUDA kernel for some backward passes the twins use, e.g.
    bilinear up-sampling's, see docs/training.md)."""
    from ..mim_runs import mim_executable
    return [mim_executable(), 'train', toolbox, config, '--gpus', str(gpus), '--work-dir',
            work_dir, '--cfg-options', f'train_cfg.max_iters={iters}',
            'train_cfg.val_begin=100000', 'default_hooks.logger.interval=1',
            'randomness.deterministic=False']


def train_twins(workspace: str, iters: int = TWIN_ITERS,
                log: Callable[[str], None] = print, root: Optional[str] = None) -> List[dict]:
    """Train one tiny twin per toolbox (``make demo``'s) with ``mim train ... --gpus 1`` for
    ``iters`` iterations in ``workspace`` (where ``data/tiny`` is made if missing).

    Returns per twin its losses and the GPU memory MMEngine logged (it logs ``memory`` only
    when it trains on a CUDA device); raises :class:`GpuCheckError` when a run fails, a loss
    is not finite, or no GPU memory was logged.
    """
    from ..mim_runs import train_history
    from ..tiny_datasets import make_tiny_datasets
    from ..tiny_twins import demo_twins
    root = checkout_root(root)
    make_tiny_datasets(os.path.join(workspace, 'data', 'tiny'), log=lambda s: None)
    results = []
    for twin in demo_twins():
        work_dir = os.path.join(workspace, 'gpu_twins', twin.name)
        os.makedirs(work_dir, exist_ok=True)
        cmd = twin_train_command(str(root / twin.config), twin.toolbox, work_dir, iters)
        log(f'  $ {" ".join(cmd[1:])}')
        start = time.perf_counter()
        with open(os.path.join(work_dir, 'mim_train.log'), 'w') as out:
            code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workspace,
                                  env=dict(os.environ, PYTHONWARNINGS='ignore')).returncode
        seconds = time.perf_counter() - start
        if code:
            tail = Path(work_dir, 'mim_train.log').read_text().splitlines()[-30:]
            raise GpuCheckError(f'{twin.name}: mim train failed (exit code {code}):\n'
                                + '\n'.join(tail))
        history = [h for h in train_history(work_dir) if 'loss' in h]
        losses = [h['loss'] for h in history]
        memory = max((h.get('memory', 0) for h in history), default=0)
        log(f'    {twin.toolbox}: {len(losses)} iterations in {seconds:.0f} s, loss '
            + ' -> '.join(f'{v:.3f}' for v in losses[:1] + losses[-1:])
            + f', GPU memory {memory} MB')
        if len(losses) != iters or not all(math.isfinite(v) for v in losses):
            raise GpuCheckError(f'{twin.name}: expected {iters} finite losses, got {losses}')
        if not memory:
            raise GpuCheckError(f'{twin.name}: MMEngine logged no GPU memory: it did not '
                                f'train on a CUDA device')
        results.append(dict(twin=twin.name, losses=losses, memory_mb=memory, seconds=seconds))
    return results


# -- the GPU benchmark ------------------------------------------------------------------------
def benchmark_argv(amp: Optional[str], models: Sequence[str] = BENCH_MODELS,
                   out_dir: str = 'docs/benchmarks', doc: Optional[str] = 'docs/benchmarks.md',
                   batch: int = BENCH_SETTINGS['batch'], size: int = BENCH_SETTINGS['size'],
                   repeats: int = BENCH_SETTINGS['repeats'],
                   warmup: int = BENCH_SETTINGS['warmup'],
                   official_fishnet: Optional[str] = None) -> List[str]:
    """The ``tools/benchmark.py`` arguments of one GPU benchmark run: fp32 (``amp=None``) or
    AMP, mmfish channels-last and NCHW against every peer in NCHW and channels-last (the
    official FishNet code too when its directory is given), with the JSON and plot in
    ``out_dir`` and the table in ``doc``'s section ``cuda-<precision>``."""
    stem = f'{out_dir}/cuda_{amp or "fp32"}_b{batch}_{size}'
    argv = ['--device', 'cuda', '--models', *models, '--batch', str(batch), '--size',
            str(size), '--repeats', str(repeats), '--warmup', str(warmup), '--also', 'nchw',
            '--peers-channels-last', '--json', f'{stem}.json', '--plot', f'{stem}.png']
    if amp:
        argv += ['--amp', amp]
    if official_fishnet:
        argv += ['--official-fishnet', official_fishnet]
    if doc:
        argv += ['--doc', doc]
    return argv


def benchmark_runs(amps: Sequence[Optional[str]] = (None, 'fp16'), **kwargs) -> int:
    """The GPU benchmark: one run per precision in ``amps`` (``None`` is fp32); ``kwargs`` go to
    :func:`benchmark_argv`. Returns the first non-zero exit code of the runs, else 0."""
    from .cli import main as benchmark
    for amp in amps:
        code = benchmark(benchmark_argv(amp, **kwargs))
        if code:
            return code
    return 0


# -- the command ------------------------------------------------------------------------------
def plan() -> str:
    """What the GPU check runs, in words."""
    return (f'On one NVIDIA GPU it runs, in about {BUDGET_S // 60} minutes:\n'
            f'  1. pytest -m gpu tests/gpu: fp16 and bf16 autocast forward and backward of '
            f'{", ".join(AMP_MODELS)} (no NaN or inf); mmcv\'s CUDA RoIAlign and NMS on '
            f'mmfish\'s outputs; torch\'s SyncBatchNorm and mmfish\'s SyncBN in a 1-process '
            f'DDP (NCCL); one tiny twin per toolbox trained by `mim train ... --gpus 1` for '
            f'{TWIN_ITERS} iterations; the benchmark tool with --device cuda --amp fp16/bf16;\n'
            f'  2. the GPU benchmark of {", ".join(BENCH_MODELS)} against their peers, fp32 and '
            f'AMP fp16, channels-last, batch {BENCH_SETTINGS["batch"]} at '
            f'{BENCH_SETTINGS["size"]}, written to docs/benchmarks.md (sections cuda-fp32, '
            f'cuda-fp16) and docs/benchmarks/cuda_*.json/png.')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog='tools/gpu_check.py', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--skip-tests', action='store_true', help='skip the GPU tests')
    parser.add_argument('--skip-benchmark', action='store_true',
                        help='skip the GPU benchmark (and leave docs/benchmarks.md alone)')
    parser.add_argument('--models', nargs='+', default=list(BENCH_MODELS),
                        choices=list(SUBJECTS), help='models of the GPU benchmark')
    parser.add_argument('--amp', default='fp16', choices=list(AMP_DTYPES),
                        help='the mixed precision of the second benchmark run')
    parser.add_argument('--official-fishnet', metavar='DIR',
                        help='a clone of github.com/kevin-ssy/FishNet: FishNet-150\'s peer in '
                             'the GPU benchmark')
    parser.add_argument('--root', default='.',
                        help='the source checkout (default: the current directory)')
    parser.add_argument('--doc', default=None,
                        help='the markdown file whose GPU sections the benchmark replaces '
                             '(default: docs/benchmarks.md)')
    parser.add_argument('--out-dir', default=None,
                        help='where the benchmark\'s JSON and plots go (default: '
                             'docs/benchmarks/)')
    args = parser.parse_args(argv)
    root = checkout_root(args.root)
    args.doc = args.doc or str(root / 'docs' / 'benchmarks.md')
    args.out_dir = args.out_dir or str(root / 'docs' / 'benchmarks')
    if not torch.cuda.is_available():
        print(f'gpu-check: no CUDA device is available: {no_cuda_reason()}. Nothing was run. '
              f'{plan()}', file=sys.stderr)
        return 2
    print(f'gpu-check on {torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA '
          f'{torch.version.cuda})', flush=True)
    stages: Dict[str, tuple] = {}
    start = time.perf_counter()
    if not args.skip_tests:
        t = time.perf_counter()
        code = subprocess.run([sys.executable, '-m', 'pytest', 'tests/gpu', '-m', 'gpu', '-rs',
                               '-v'], cwd=root).returncode
        stages['GPU tests (pytest -m gpu tests/gpu)'] = (code, time.perf_counter() - t)
    if not args.skip_benchmark:
        t = time.perf_counter()
        try:
            code = benchmark_runs((None, args.amp), models=args.models, out_dir=args.out_dir,
                                  doc=args.doc, official_fishnet=args.official_fishnet)
        except Exception:  # noqa: BLE001  (reported, and the summary still printed)
            traceback.print_exc()
            code = 1
        stages['GPU benchmark (fp32, AMP ' + args.amp + ')'] = (code,
                                                               time.perf_counter() - t)
    total = time.perf_counter() - start
    print('\n== gpu-check summary')
    for name, (code, seconds) in stages.items():
        print(f'  {"passed" if code == 0 else f"FAILED (exit code {code})"}: {name}, '
              f'{seconds:.0f} s')
    print(f'  total {total:.0f} s on {torch.cuda.get_device_name(0)}'
          + (f' (more than the {BUDGET_S} s it should take)' if total > BUDGET_S else ''))
    return next((code for code, _ in stages.values() if code), 0)
