"""The benchmark tool runs, and its equality check holds (and can fail). Its figures are not
checked here: they live in docs/benchmarks.md, produced by tools/benchmark.py."""
import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch

from mmfish.models import ResNeSt
from mmfish.testing import randomize_norms
from mmfish_tools.benchmark import (
    SUBJECTS,
    TRAIN_EQUALITY_TOLERANCE,
    EqualityError,
    Impl,
)
from mmfish_tools.benchmark import peers as peers_mod
from mmfish_tools.benchmark.breakdown import ORDER, OpTimer, category
from mmfish_tools.benchmark.core import build_peers, check_equality

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / 'tools'))
import benchmark as tool  # noqa: E402


def test_tool_runs_and_writes_table_json_plot_and_doc(tmp_path, capsys):
    doc = tmp_path / 'bench.md'
    # the run's section: device, the CPU's vector ISA, precision
    key = f'cpu-{torch.backends.cpu.get_cpu_capability().lower()}-fp32'
    begin, end = f'<!-- benchmark:{key}:begin -->', f'<!-- benchmark:{key}:end -->'
    doc.write_text(f'before\n{begin}\nold\n{end}\nafter\n')
    out_json, out_png = tmp_path / 'b.json', tmp_path / 'b.png'
    code = tool.main(['--models', 'res2net50-w26-s4', 'resnet50', '--batch', '1', '--size', '64',
                      '--repeats', '2', '--warmup', '0', '--also', 'with_cp', '--breakdown', '1',
                      '--json', str(out_json), '--plot', str(out_png), '--doc', str(doc)])
    assert code == 0
    printed = capsys.readouterr().out
    assert 'converted weights, max relative output error' in printed
    data = json.loads(out_json.read_text())
    rows = {(r['subject'], r['impl']): r for r in data['rows']}
    assert set(rows) == {('res2net50-w26-s4', n) for n in
                         ('mmfish', 'mmfish with_cp', 'mmpretrain', 'timm res2net50_26w_4s')} \
        | {('resnet50', 'torchvision')}
    for r in rows.values():
        assert len(r['eval_s']) == len(r['train_s']) == 2 and min(r['train_s']) > 0
        assert r['peak_mb'] > 0 and r['params'] > 1e6 and r['flops'] > 1e8
    ours = rows[('res2net50-w26-s4', 'mmfish')]
    assert ours['params'] == rows[('res2net50-w26-s4', 'mmpretrain')]['params']
    assert rows[('res2net50-w26-s4', 'mmpretrain')]['max_rel_err'] < TRAIN_EQUALITY_TOLERANCE
    for r in rows.values():  # where the train step's time went: every category, in seconds
        ops = r['train_ops']
        assert set(ops) == set(ORDER) | {'total'} and ops['convolutions'] > 0
        assert 0 < ops['total'] <= 2 * max(r['train_s'])
    assert out_png.stat().st_size > 1000 and out_png.read_bytes()[:4] == b'\x89PNG'
    text = doc.read_text()
    assert text.startswith('before\n') and text.endswith('after\n') and 'old' not in text
    assert '| res2net50-w26-s4 | mmfish |' in text and 'torch 2.' in text
    isa = torch.backends.cpu.get_cpu_capability()
    assert data['settings']['machine']['isa'] == isa and data['settings']['device'] == 'cpu'
    assert f'**CPU {isa}, fp32.** CPU: vector ISA {isa}' in text and 'oneDNN ' in text
    assert 'with_cp uses' in text
    assert '| res2net50-w26-s4 | mmfish | ' in text.split("Where a train step's time goes")[1]
    assert 'Convolutions set the ceiling' in text
    # a saved run renders to the same table without measuring anything
    doc.write_text(f'{begin}\n{end}\n')
    assert tool.main(['--from-json', str(out_json), '--doc', str(doc)]) == 0
    assert doc.read_text() == text[len('before\n'):-len('after\n')]


@pytest.mark.parametrize('name', [n for n, s in SUBJECTS.items() if s.mmfish and s.peers
                                  and s.family != 'fishnet'])
def test_every_installed_peer_computes_mmfish_function(name):
    subject = SUBJECTS[name]
    peers = build_peers(subject, log=lambda s: None)
    assert len(peers) == len(subject.peers)  # every peer is installed in the test stack
    _, errors = check_equality(subject, peers, size=64, log=lambda s: None)
    assert set(errors) == {p.name for p in subject.peers}
    # eval outputs agree to the last digits; train mode's batch statistics are summed in
    # another order by the channels-last BatchNorm (see TRAIN_EQUALITY_TOLERANCE)
    assert max(errors.values()) < TRAIN_EQUALITY_TOLERANCE


def test_equality_check_fails_on_another_function():
    """A model with the same weights but another computation (the ResNeSt avd pool before
    the split-attention conv instead of after) must be refused before any timing."""
    base = SUBJECTS['resnest50']
    wrong = Impl('mmfish', lambda **kw: ResNeSt(50, avd_first=True, **kw))
    timm_peer = [p for p in base.peers if p.name.startswith('timm')]
    subject = dataclasses.replace(base, mmfish=wrong, peers=timm_peer)
    with pytest.raises(EqualityError, match='timm resnest50d given the same weights differ'):
        check_equality(subject, build_peers(subject, log=lambda s: None), size=64,
                       log=lambda s: None)


def test_equality_check_fails_on_frozen_norms():
    """mmdet's ResNeSt with its default norm_eval=True computes the same function in eval mode
    but keeps BatchNorm on running statistics in train mode: the train-mode comparison must
    refuse it (the benchmark builds mmdet's peers with norm_eval=False)."""
    base = SUBJECTS['resnest50']
    frozen = Impl('mmdet norm_eval', lambda: peers_mod._toolbox_backbone('mmdet', dict(
        type='ResNeSt', depth=50, stem_channels=64, radix=2, reduction_factor=4,
        avg_down_stride=True)), peers_mod._openmmlab_checkpoint)
    subject = dataclasses.replace(base, peers=[frozen])
    with pytest.raises(EqualityError, match='in float64 on cpu in train mode'):
        check_equality(subject, [(frozen, randomize_norms(frozen.build()))], size=64,
                       log=lambda s: None)


def test_breakdown_files_each_operator_under_its_category():
    assert category('convolution_backward') == 'convolutions'
    assert category('native_batch_norm_backward') == 'norms'
    assert category('threshold_backward') == 'activations'
    assert category('add_') == 'other'
    conv, bn = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)
    with OpTimer() as timer:
        bn(conv(torch.rand(2, 3, 8, 8))).relu().sum().backward()
    seconds = timer.by_category()
    assert set(seconds) == set(ORDER)
    assert seconds['convolutions'] > 0 and seconds['norms'] > 0 and seconds['activations'] > 0
    assert timer.calls['convolution_backward'] == 1


def test_onnx_runtime_row_is_timed_in_eval_beside_eager():
    """``--also onnx``: mmfish's model exported and run by onnxruntime, timed in eval only,
    interleaved with eager PyTorch; its check error in the error column, its ratio to eager
    in the report. Refused on a GPU or under autocast."""
    from mmfish_tools.benchmark.core import benchmark_subject, machine
    from mmfish_tools.benchmark.report import markdown
    small = Impl('mmfish', lambda **kw: ResNeSt(50, base_channels=16, stem_channels=32, **kw))
    subject = dataclasses.replace(SUBJECTS['resnest50'], mmfish=small, peers=[])
    # batch 2: ResNeSt's split attention cannot train on one image
    rows = benchmark_subject(subject, batch=2, size=64, repeats=1, warmup=0, memory=False,
                             also=['onnx'], log=lambda s: None)
    eager, ort_row = rows
    assert (eager.impl, ort_row.impl) == ('mmfish', 'mmfish ONNX Runtime')
    assert len(eager.eval_s) == len(eager.train_s) == len(ort_row.eval_s) == 1
    assert ort_row.train_s == [] and ort_row.peak_mb is None and ort_row.params == 0
    assert ort_row.max_rel_err is not None and ort_row.max_rel_err < 1e-4
    assert eager.max_rel_err is None
    settings = dict(batch=2, size=64, repeats=1, warmup=0, machine=machine())
    text = markdown(rows, settings)
    ratio = ort_row.throughput('eval', 2) / eager.throughput('eval', 2)
    assert f'- resnest50: {ratio:.2f}x mmfish eager (check error {ort_row.max_rel_err:.1e})' \
        in text
    assert f'| resnest50 | mmfish ONNX Runtime | - | - | {ort_row.throughput("eval", 2):.1f} ' \
           f'| - | - | - | ' in text
    assert tool.main(['--models', 'resnest50', '--also', 'onnx', '--amp', 'bf16']) == 2
