"""FishNet's released checkpoint layouts, on fixtures made by the official code
(tools/reference_fixtures/fishnet.py, every width / 8, 10 classes): the released layout as
PyTorch 0.4.0 saved it, and the "welltrained" FishNet-150 and FishNet-201 layouts."""
import zipfile

import pytest
import torch
from mmengine.config import Config

from mmfish.checkpoint.io import load_checkpoint
from mmfish.weights import ConversionError, convert_checkpoint
from mmfish.families.fishnet.conversion import IDENTITY_VAR
from mmfish.testing import max_rel_error

from tests.conftest import DATA, REPO, build_in_scope, unpacked_fixture

OFFICIAL = DATA / 'official'
EXPECTED = OFFICIAL / 'fishnet_releases_expected.pt'
FIXTURES = {  # file: (depth, layout)
    'fishnet99_w8_ckpt.tar.gz': (99, 'official'),
    'fishnet150_w8_welltrained_ckpt.tar.gz': (150, 'official-welltrained150'),
    'fishnet201_w8_welltrain_ckpt.tar.gz': (201, 'official-welltrained201'),
}
FILLED_BN = 'backbone.tail.0.blocks.0.shortcut.bn'


@pytest.fixture(scope='module')
def released(tmp_path_factory):
    """The fixtures, decompressed: the files as the official code wrote them."""
    root = tmp_path_factory.mktemp('fishnet_releases')
    return {name: unpacked_fixture(name, root) for name in FIXTURES}


def _logits_error(dst, depth, name) -> float:
    """Relative error of the converted checkpoint's logits, loaded strictly into the
    FishNet-``depth`` in1k config at the fixtures' widths, against the official code's."""
    cfg = Config.fromfile(REPO / f'configs/mmpretrain/fishnet/fishnet{depth}_8xb32_in1k.py')
    cfg.model.backbone.base_channels = 8
    cfg.model.neck.in_channels = 2112 // 8
    cfg.model.head.update(in_channels=2112 // 16, num_classes=10)
    model = build_in_scope('mmpretrain', cfg.model).eval()
    model.load_state_dict(torch.load(dst)['state_dict'], strict=True)
    expected = torch.load(EXPECTED)
    with torch.no_grad():
        return max_rel_error(model(expected['input'], mode='tensor'), expected[name])


@pytest.mark.parametrize('name', list(FIXTURES))
def test_release_layout_converts_to_the_official_logits(name, released, tmp_path):
    depth, layout = FIXTURES[name]
    dst, lines = tmp_path / 'fishnet.pth', []
    meta = convert_checkpoint(None, str(released[name]), str(dst), log=lines.append)['mmfish']
    assert meta['family'] == 'FishNet' and meta['layout'] == layout
    assert meta['backbone'] == dict(type='FishNet', depth=depth, base_channels=8)
    assert meta['num_classes'] == 10
    assert any('num_batches_tracked counters' in line for line in lines)  # PyTorch 0.4.0
    filled = [line for line in lines if line.startswith('filled ')]
    if depth == 201:  # the bare first shortcut conv: its BN filled as an identity
        assert [f['module'] for f in meta['filled']] == [FILLED_BN]
        assert 'identity BatchNorm' in meta['filled'][0]['value']
        assert len(filled) == 1 and FILLED_BN in filled[0]
        assert 'fish.fish.0.0.0.shortcut.weight' in filled[0] and 'eval mode' in filled[0]
        state = torch.load(dst)['state_dict']
        assert torch.equal(state[f'{FILLED_BN}.running_var'],
                           torch.full_like(state[f'{FILLED_BN}.running_var'], IDENTITY_VAR))
    else:
        assert 'filled' not in meta and not filled
    assert _logits_error(dst, depth, name) < 1e-4


def test_legacy_serialised_checkpoint_loads_weights_only(released):
    """PyTorch 0.4.0's (pre-zip) serialisation reads with weights-only loading."""
    path = released['fishnet99_w8_ckpt.tar.gz']
    assert not zipfile.is_zipfile(path)  # the legacy format, not the zip one
    ckpt = load_checkpoint(str(path))
    assert sorted(ckpt) == ['arch', 'best_prec1', 'epoch', 'optimizer', 'state_dict']
    assert all(k.startswith('module.') for k in ckpt['state_dict'])
    assert not any(k.endswith('num_batches_tracked') for k in ckpt['state_dict'])


def test_identity_fill_is_exact_in_float32():
    bn = torch.nn.BatchNorm2d(16).eval()
    bn.running_var.fill_(IDENTITY_VAR)
    x = torch.randn(2, 16, 5, 5) * 100
    with torch.no_grad():
        assert torch.equal(bn(x), x)


def _edited(released, name, tmp_path, edit):
    ckpt = torch.load(released[name], weights_only=True)
    state = {k[len('module.'):]: v for k, v in ckpt['state_dict'].items()}
    edit(state)
    ckpt['state_dict'] = {f'module.{k}': v for k, v in state.items()}
    src = tmp_path / 'edited.tar'
    torch.save(ckpt, src)
    return src


def _bare_second_shortcut(state):
    state['fish.fish.1.0.0.shortcut.weight'] = state.pop('fish.fish.1.0.0.shortcut.2.weight')
    for key in [k for k in state if k.startswith('fish.fish.1.0.0.shortcut.0.')]:
        del state[key]


def _both_shortcuts(state):
    c = state['fish.fish.0.0.0.shortcut.weight'].shape[1]
    state.update({f'fish.fish.0.0.0.shortcut.0.{p}': torch.ones(c)
                  for p in ('weight', 'bias', 'running_mean', 'running_var')})


def _mixed_layout(state):  # the welltrained bridge with the released classifier
    for old, new in (('3.0.2', '3.1.0'), ('3.0.3', '3.1.1'), ('3.1', '3.1.3')):
        for key in [k for k in state if k.startswith(f'fish.fish.{old}.')]:
            state[f'fish.fish.{new}.' + key[len(f'fish.fish.{old}.'):]] = state.pop(key)


REFUSALS = {  # name: (fixture, edit, what the error names)
    'extra tensor': ('fishnet201_w8_welltrain_ckpt.tar.gz',
                     lambda s: s.update({'fish.fish.9.3.5.weight': torch.ones(3)}),
                     ['fish.fish.9.3.5.weight', 'could not be placed']),
    'missing score BN statistics': (
        'fishnet150_w8_welltrained_ckpt.tar.gz',
        lambda s: s.pop('fish.fish.3.1.1.running_var'),
        ['bridge.score.bn.running_var', 'missing']),
    'missing classifier bias': (
        'fishnet201_w8_welltrain_ckpt.tar.gz', lambda s: s.pop('fish.fish.9.3.4.bias'),
        ['fc.bias']),
    'bare shortcut whose input can be negative': (
        'fishnet201_w8_welltrain_ckpt.tar.gz', _bare_second_shortcut,
        ['fish.fish.1.0.0.shortcut.weight', 'cannot compute it']),
    'bare and pre-activation shortcut in one block': (
        'fishnet201_w8_welltrain_ckpt.tar.gz', _both_shortcuts,
        ['fish.fish.0.0.0.shortcut.0.weight', 'one block has one shortcut']),
    'welltrained bridge, released classifier': (
        'fishnet99_w8_ckpt.tar.gz', _mixed_layout,
        ['fish.fish.3.1.3.weight', 'fish.fish.9.4.1.weight', 'known official layouts']),
}


@pytest.mark.parametrize('case', list(REFUSALS))
def test_welltrained_like_file_that_cannot_be_mapped_exactly_is_refused(case, released,
                                                                        tmp_path):
    name, edit, words = REFUSALS[case]
    src, dst = _edited(released, name, tmp_path, edit), tmp_path / 'out.pth'
    with pytest.raises(ConversionError) as err:
        convert_checkpoint(None, str(src), str(dst), log=lambda s: None)
    for word in words:
        assert word in str(err.value)
    assert not dst.exists()


# -- the welltrained rows through mmfish:// and create_model -----------------------------------
ROWS = {'fishnet150-welltrained': 'fishnet150_w8_welltrained_ckpt.tar.gz',
        'fishnet201-welltrained': 'fishnet201_w8_welltrain_ckpt.tar.gz'}


def _serve(released, tmp_path, monkeypatch, row, fixture):
    """``$MMFISH_MIRROR`` holding ``fixture`` under the released name of ``row``, whose
    backbone gets the fixtures' widths (``base_channels=8``); offline, a fresh home."""
    import dataclasses
    import shutil

    from mmfish.variants import VARIANTS
    mirror = tmp_path / 'mirror'
    mirror.mkdir(exist_ok=True)
    variant = VARIANTS[row]
    shutil.copyfile(released[fixture], mirror / variant.files[0])
    monkeypatch.setenv('MMFISH_HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('MMFISH_MIRROR', str(mirror))
    monkeypatch.setenv('MMFISH_OFFLINE', '1')
    monkeypatch.setitem(VARIANTS, row, dataclasses.replace(
        variant, backbone=dict(variant.backbone, base_channels=8)))


@pytest.mark.parametrize('row', list(ROWS))
def test_welltrained_row_loads_by_name_and_computes_the_official_logits(row, released,
                                                                       tmp_path, monkeypatch):
    import mmfish
    from mmfish.weights.hub import resolve
    _serve(released, tmp_path, monkeypatch, row, ROWS[row])
    meta = torch.load(resolve(f'mmfish://{row}'))['meta']['mmfish']
    assert meta['variant'] == row and meta['layout'] == FIXTURES[ROWS[row]][1]
    model = mmfish.create_model(f'mmfish://{row}').eval()
    assert model.num_classes == 10  # the file's classifier
    expected = torch.load(EXPECTED)
    with torch.no_grad():
        assert max_rel_error(model(expected['input']), expected[ROWS[row]]) < 1e-4


def test_a_file_in_another_rows_layout_is_refused(released, tmp_path, monkeypatch):
    """The welltrained FishNet-150 file under the name of the first recipe's: same shapes,
    another key layout, so not that row's file."""
    from mmfish.checkpoint.io import CheckpointError
    from mmfish.weights.hub import resolve
    _serve(released, tmp_path, monkeypatch, 'fishnet150',
           'fishnet150_w8_welltrained_ckpt.tar.gz')
    with pytest.raises(CheckpointError) as err:
        resolve('mmfish://fishnet150')
    for words in ('official-welltrained150 key layout', 'fishnet150-welltrained'):
        assert words in str(err.value)
    assert not list((tmp_path / 'home').rglob('*.pth'))


def test_add_tells_a_welltrained_file_by_its_layout(released, tmp_path, monkeypatch, capsys):
    """``python -m mmfish.hub add`` of the welltrained FishNet-150 file under another name:
    its shapes are FishNet-150's, its key layout tells the row."""
    from mmfish.hub import main
    _serve(released, tmp_path, monkeypatch, 'fishnet150-welltrained',
           'fishnet150_w8_welltrained_ckpt.tar.gz')
    monkeypatch.delenv('MMFISH_MIRROR')
    given = tmp_path / 'downloaded.tar'
    given.write_bytes(released['fishnet150_w8_welltrained_ckpt.tar.gz'].read_bytes())
    assert main(['add', str(given)]) == 0
    out = capsys.readouterr().out
    assert 'mmfish://fishnet150-welltrained (identified by its layout' in out
    assert 'mmfish://fishnet150 (' not in out
    assert (tmp_path / 'home' / 'checkpoints' / 'fishnet150-welltrained_mmfish.pth').is_file()
