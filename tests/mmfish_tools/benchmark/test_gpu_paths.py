"""The GPU benchmark and the GPU check, as far as they run without a GPU: argument checks,
the refusal without CUDA, the autocast dtype, reports of GPU runs and of runs per CPU ISA,
and the checks of ``make gpu-check`` on the CPU (bf16 autocast, mmcv's ops, SyncBN in a
1-process DDP with gloo). tests/gpu runs them on a GPU."""
import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch

from mmfish_tools import python_env
from mmfish_tools.benchmark import SUBJECTS, EqualityError, Impl, Row, gpu_check
from mmfish_tools.benchmark import cli as bench_cli
from mmfish_tools.benchmark.core import (
    DeviceUnavailable,
    autocast_dtype,
    build_peers,
    check_equality,
    load_json,
    machine,
    save_json,
    tf32_off,
)
from mmfish_tools.benchmark.report import markdown, markers, section_key, slower_than_peers

ROOT = Path(__file__).resolve().parents[3]
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason='tests the refusal without CUDA')


# -- devices and precisions -------------------------------------------------------------------
def test_autocast_dtype_selection(monkeypatch):
    assert autocast_dtype('cpu', None) is None
    assert autocast_dtype('cpu', 'bf16') is torch.bfloat16
    with pytest.raises(ValueError, match='fp16 autocast is for the GPU'):
        autocast_dtype('cpu', 'fp16')
    with pytest.raises(ValueError, match="unknown device 'gpu'; valid: cpu, cuda"):
        autocast_dtype('gpu', None)
    with pytest.raises(ValueError, match="unknown mixed precision 'fp8'; valid: fp16, bf16"):
        autocast_dtype('cpu', 'fp8')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda *a: 'Tesla T4')
    assert autocast_dtype('cuda', None) is None
    assert autocast_dtype('cuda', 'fp16') is torch.float16
    with pytest.raises(DeviceUnavailable, match='Tesla T4 has no bf16 support: use --amp fp16'):
        autocast_dtype('cuda', 'bf16')
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    assert autocast_dtype('cuda', 'bf16') is torch.bfloat16


@no_cuda
def test_device_cuda_refused_without_cuda(capsys):
    assert bench_cli.main(['--device', 'cuda', '--amp', 'fp16', '--models', 'resnest50']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: no CUDA device is available: torch ') and 'Traceback' not in err
    with pytest.raises(DeviceUnavailable, match='no CUDA device is available'):
        autocast_dtype('cuda', None)


def test_fp16_and_breakdown_refused_where_they_do_not_apply(capsys, monkeypatch):
    assert bench_cli.main(['--amp', 'fp16', '--models', 'resnest50']) == 2
    assert 'fp16 autocast is for the GPU (--device cuda)' in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert bench_cli.main(['--device', 'cuda', '--breakdown', '2']) == 2
    assert '--breakdown times each kernel as it returns' in capsys.readouterr().err


def test_tf32_off_restores_the_settings():
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    with tf32_off():
        assert not torch.backends.cuda.matmul.allow_tf32
        assert not torch.backends.cudnn.allow_tf32
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before


def test_machine_records_the_cpu_isa_and_onednn():
    m = machine()
    assert m['isa'] == torch.backends.cpu.get_cpu_capability()
    assert m['isa'] in ('DEFAULT', 'AVX2', 'AVX512', 'ZVECTOR', 'VSX', 'SVE256', 'NEON') \
        or m['isa'].startswith(('AVX', 'SVE'))
    if torch.backends.mkldnn.is_available():
        assert re.fullmatch(r'\d+\.\d+(\.\d+)*', m['onednn']), m['onednn']
    assert 'gpu' not in m


# -- equality in float32 (as on a GPU) --------------------------------------------------------
def test_float32_eval_check_runs_and_can_fail(monkeypatch):
    """On a GPU eval outputs are also compared in float32 with TF32 off, before the float64
    comparison (here on the CPU, with the float32 limit at 0 so that it must fail)."""
    from mmfish_tools.benchmark import core
    subject = SUBJECTS['res2net50-w26-s4']
    subject = dataclasses.replace(subject, peers=subject.peers[-1:])  # timm's
    logged = []
    monkeypatch.setattr(core, 'FLOAT32_EQUALITY_TOLERANCE', 0.0)
    with pytest.raises(EqualityError, match=r'in float32, TF32 off on cpu in eval mode'):
        check_equality(subject, build_peers(subject, log=lambda s: None), size=32,
                       float32_eval=True, log=logged.append)
    assert len(logged) == 1 and '(float32, TF32 off, cpu) eval ' in logged[0]


# -- reports ----------------------------------------------------------------------------------
def _gpu_run(amp='fp16'):
    def row(impl, eval_s, train_s, **kw):
        return Row('resnest50', impl, params=25_430_000, flops=5.4e9, eval_s=[eval_s] * 3,
                   train_s=[train_s] * 3, peak_mb=9000.0, **kw)
    rows = [row('mmfish', 0.020, 0.060), row('mmfish NCHW', 0.025, 0.065),
            row('timm resnest50d', 0.024, 0.058, max_rel_err=3e-9),
            row('timm resnest50d channels-last', 0.021, 0.064, max_rel_err=3e-9)]
    settings = dict(batch=32, size=224, repeats=3, warmup=3, breakdown=0, device='cuda',
                    amp=amp, peers_channels_last=True, cudnn_benchmark=True, cudnn_tf32=True,
                    matmul_tf32=False,
                    machine=dict(cpu='Intel Xeon', isa='AVX512', onednn='3.12.0', cores=16,
                                 threads=16, torch='2.13.0+cu130', python='3.11.7',
                                 date='2026-11-27', gpu='NVIDIA H100 80GB HBM3',
                                 gpu_memory_gb=79.2, capability='9.0', cuda='13.0',
                                 cudnn=92000))
    return rows, settings


def test_report_of_a_gpu_run(tmp_path, capsys):
    rows, settings = _gpu_run()
    assert section_key(settings) == 'cuda-fp16'
    saved = tmp_path / 'gpu.json'
    save_json(rows, settings, str(saved))
    doc = tmp_path / 'bench.md'
    begin, end = markers('cuda-fp16')
    doc.write_text(f'intro\n{begin}\nold\n{end}\n')
    assert bench_cli.main(['--from-json', str(saved), '--doc', str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith('intro\n') and 'old' not in text
    assert '**GPU NVIDIA H100 80GB HBM3, AMP fp16.**' in text
    assert 'CUDA 13.0, cuDNN 92000' in text and 'vector ISA AVX512' in text
    assert "CUDA's allocator (`max_memory_allocated`" in text and 'AMP fp16 (autocast' in text
    assert 'Rows "<peer> channels-last"' in text
    assert '| resnest50 | timm resnest50d channels-last | 25.43 |' in text
    # the default layout against NCHW, and where mmfish is behind a peer
    assert '- resnest50: eval 1.25x, train 1.08x: the default is at least as fast here' in text
    # the run's noise: these rows repeat one figure, so their samples do not spread
    assert 'repeats spread from fastest to slowest by eval 0% at the median' in text
    assert '- resnest50 train: 0.967x timm resnest50d' in text
    assert slower_than_peers(rows, 32) == [('resnest50', 'train', 'timm resnest50d',
                                            pytest.approx(0.058 / 0.060))]
    # the fp32 section is another one; a file without it is refused with the markers to add
    rows32, settings32 = _gpu_run(amp=None)
    save_json(rows32, settings32, str(saved))
    assert bench_cli.main(['--from-json', str(saved), '--doc', str(doc)]) == 2
    assert '<!-- benchmark:cuda-fp32:begin -->' in capsys.readouterr().err


def test_cpu_runs_are_reported_per_isa():
    rows, settings = _gpu_run(amp=None)
    cpu = dict(settings, device='cpu', machine=dict(settings['machine'], isa='AVX2'))
    for key in ('gpu', 'gpu_memory_gb', 'capability', 'cuda', 'cudnn'):
        del cpu['machine'][key]
    assert section_key(cpu) == 'cpu-avx2-fp32'
    text = markdown(rows, cpu)
    assert text.startswith('**CPU AVX2, fp32.** CPU: vector ISA AVX2 '
                           '(`torch.backends.cpu.get_cpu_capability()`), oneDNN 3.12.0;')
    assert '(CPU AVX2, fp32)' in text


def test_saved_run_without_isa_is_labelled_and_matches_the_docs():
    """The run in docs/benchmarks.md that predates ISA recording re-renders into its section
    unchanged, labelled as such."""
    rows, settings = load_json(str(ROOT / 'docs' / 'benchmarks' / 'cpu_fp32_b8_224.json'))
    assert section_key(settings) == 'cpu-isa-not-recorded-fp32'
    table = markdown(rows, settings)
    assert 'vector ISA not recorded' in table
    begin, end = markers('cpu-isa-not-recorded-fp32')
    doc = (ROOT / 'docs' / 'benchmarks.md').read_text()
    assert f'{begin}\n{table}\n{end}' in doc


# -- the new options in a run and in the memory measurement ---------------------------------
def test_channels_last_peers_under_bf16():
    from mmfish_tools.benchmark import Subject
    from mmfish_tools.benchmark.core import benchmark_subject
    from mmfish_tools.benchmark.peers import ChannelsLast

    def build():
        return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                                   torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1))
    subject = Subject('tiny', None, None, [Impl('peer', build)])
    rows = benchmark_subject(subject, batch=2, size=16, repeats=2, warmup=0, memory=False,
                             amp='bf16', peers_channels_last=True, log=lambda s: None)
    assert [r.impl for r in rows] == ['peer', 'peer channels-last']
    assert rows[0].params == rows[1].params and rows[1].flops == rows[0].flops
    assert all(len(r.train_s) == len(r.eval_s) == 2 for r in rows)
    wrapped = ChannelsLast(build())
    assert wrapped.module[0].weight.is_contiguous(memory_format=torch.channels_last)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert wrapped(torch.rand(1, 3, 8, 8)).dtype == torch.bfloat16


def test_memory_of_a_channels_last_peer_under_bf16():
    """In a process of its own, as the benchmark runs it: in the test process, memory freed by
    earlier tests is reused and the resident high-water mark need not move."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, '-m', 'mmfish_tools.benchmark.memory', 'resnet50',
                          'torchvision', '2', '32', '{}', '--amp', 'bf16', '--channels-last'],
                         capture_output=True, text=True, check=True, env=python_env()).stdout
    assert json.loads(out.splitlines()[-1])['peak_mb'] > 0


# -- the GPU check's pieces on the CPU --------------------------------------------------------
def test_amp_check_with_bf16_on_cpu():
    results = gpu_check.amp_check(['resnest50'], 'cpu', ['bf16'], batch=2, size=32)
    assert [(r['model'], r['amp']) for r in results] == [('resnest50', 'bf16')]
    for r in results:
        assert r['out_dtype'] == 'torch.bfloat16'
        assert r['eval_finite'] and r['train_finite'] and r['grads_finite']
        assert 0 < r['cosine'] <= 1 + 1e-9


def test_roi_align_and_nms_check_on_cpu():
    result = gpu_check.cuda_ops_check('cpu', size=64)  # level 3: 2x2, 12 boxes
    assert result['roi_align_max_rel_err'] == 0 and 0 < result['nms_kept'] <= result['boxes']


def test_syncbn_ddp_check_with_gloo_on_cpu():
    errors = gpu_check.syncbn_ddp_check('cpu', size=32, batch=2, base_channels=16)
    assert list(errors) == ['mmfish SyncBN'] and errors['mmfish SyncBN'] <= 1e-6


def test_twin_command_trains_on_one_gpu_through_mim():
    cmd = gpu_check.twin_train_command('cfg.py', 'mmdet', 'work', iters=3)
    assert Path(cmd[0]).name == 'mim'
    assert cmd[1:8] == ['train', 'mmdet', 'cfg.py', '--gpus', '1', '--work-dir', 'work']
    assert cmd[8:] == ['--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_begin=100000',
                       'default_hooks.logger.interval=1', 'randomness.deterministic=False']


def test_gpu_benchmark_arguments_parse():
    argv = gpu_check.benchmark_argv('fp16')
    args = bench_cli.parser().parse_args(argv)
    assert args.device == 'cuda' and args.amp == 'fp16' and args.batch == 32
    assert args.models == list(gpu_check.BENCH_MODELS) and args.also == ['nchw']
    assert args.peers_channels_last and args.doc == 'docs/benchmarks.md'
    assert args.json == 'docs/benchmarks/cuda_fp16_b32_224.json'
    args = bench_cli.parser().parse_args(gpu_check.benchmark_argv(None, official_fishnet='d'))
    assert args.amp is None and args.official_fishnet == 'd'
    assert args.json == 'docs/benchmarks/cuda_fp32_b32_224.json'


def test_docs_have_the_gpu_sections():
    doc = (ROOT / 'docs' / 'benchmarks.md').read_text()
    for key in ('cuda-fp32', 'cuda-fp16', 'cpu-avx2-fp32'):
        begin, end = markers(key)
        assert begin in doc and end in doc


@no_cuda
def test_gpu_check_without_a_gpu_says_so(capsys):
    assert gpu_check.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith('gpu-check: no CUDA device is available: torch ')
    assert 'Nothing was run.' in err and 'On one NVIDIA GPU it runs' in err
    makefile = (ROOT / 'Makefile').read_text()
    # what mmcv was built with is checked first, then the GPU run
    assert re.search(r'^gpu-check: install\n\t\$\(PY\) -m mmfish_tools.check_env --mmcv-only\n'
                     r'\t\$\(PY\) tools/gpu_check.py$', makefile, re.M)


def test_the_noise_line_names_the_widest_spread():
    from mmfish_tools.benchmark.report import spread_lines
    rows = [Row('resnest50', 'mmfish', eval_s=[1.0, 1.1, 1.2], train_s=[2.0, 2.0, 2.0]),
            Row('resnest50', 'timm resnest50d', eval_s=[1.0, 1.0, 1.5], train_s=None)]
    line = spread_lines(rows, 'CPU AVX2, fp32')[1]
    # eval: 0.2 / 1.1 and 0.5 / 1.0, median 34%, largest 50% (timm's); train: one row, 0%
    assert 'by eval 34% at the median, 50% at the largest (resnest50 timm resnest50d); ' \
           'train 0% at the median, 0% at the largest (resnest50 mmfish)' in line
    assert spread_lines([Row('resnest50', 'mmfish', eval_s=[1.0])], 'x') == []
