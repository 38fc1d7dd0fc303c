"""The benchmark tool runs, and its equality check holds (and can fail). Its figures are not
checked here: they live in docs/benchmarks.md, produced by tools/benchmark.py."""
import dataclasses
import json
import sys
from pathlib import Path

import pytest

from mmfish.benchmark import EQUALITY_TOLERANCE, SUBJECTS, EqualityError, Impl
from mmfish.benchmark.core import build_peers, check_equality
from mmfish.models import ResNeSt

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / 'tools'))
import benchmark as tool  # noqa: E402


def test_tool_runs_and_writes_table_json_plot_and_doc(tmp_path, capsys):
    doc = tmp_path / 'bench.md'
    doc.write_text('before\n<!-- benchmark:begin -->\nold\n<!-- benchmark:end -->\nafter\n')
    out_json, out_png = tmp_path / 'b.json', tmp_path / 'b.png'
    code = tool.main(['--models', 'res2net50-w26-s4', 'resnet50', '--batch', '1', '--size', '64',
                      '--repeats', '2', '--warmup', '0', '--also', 'with_cp',
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
    assert rows[('res2net50-w26-s4', 'mmpretrain')]['max_rel_err'] < EQUALITY_TOLERANCE
    assert out_png.stat().st_size > 1000 and out_png.read_bytes()[:4] == b'\x89PNG'
    text = doc.read_text()
    assert text.startswith('before\n') and text.endswith('after\n') and 'old' not in text
    assert '| res2net50-w26-s4 | mmfish |' in text and 'torch 2.' in text
    assert 'with_cp uses' in text
    # a saved run renders to the same table without measuring anything
    doc.write_text('<!-- benchmark:begin -->\n<!-- benchmark:end -->\n')
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
    assert max(errors.values()) < EQUALITY_TOLERANCE


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
