"""What the weights cannot show is decided from the released variants, the file's name (with a
verified sha256), its own config, or the command line, and never guessed: ResNeSt's ``avd`` and
``avd_first`` on checkpoints written by the official ResNeSt code and by timm (reduced widths,
``tools/reference_fixtures/resnest.py``)."""
import dataclasses
import hashlib
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmfish.checkpoint.integrity import check_name_hash, name_hash_prefix
from mmfish.weights import ConversionError, convert_checkpoint
from mmfish.models import ResNeSt
from mmfish.testing import max_rel_error
from mmfish.variants import VARIANTS

from tests.conftest import DATA, build_in_scope
from tests.weights.test_conversion import _random_official_checkpoint

OFFICIAL = DATA / 'official'
REPO = DATA.parent.parent


@pytest.fixture(scope='module')
def expected():
    return torch.load(OFFICIAL / 'resnest_reference_logits.pt')


def _logits(dst, **changes):
    """Logits of the converted file, loaded strictly into mmpretrain's classifier built from
    the backbone config the converter wrote."""
    meta = torch.load(dst)['meta']['mmfish']
    backbone = dict(meta['backbone'], **changes)
    backbone['type'] = 'mmfish.' + backbone['type']
    model = build_in_scope('mmpretrain', dict(
        type='ImageClassifier', backbone=dict(backbone, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=meta['num_classes'],
                  in_channels=torch.load(dst)['state_dict']['head.fc.weight'].shape[1]))).eval()
    model.load_state_dict(torch.load(dst)['state_dict'], strict=True)
    return model


@pytest.mark.parametrize('name, avd_first', [
    ('resnest50_fast_2s1x64d', True),  # official ablation.py, legacy serialisation
    ('resnest50_fast_4s1x64d', True),
    ('resnest50d_1s4x24d', True),  # timm, radix 1 (sigmoid attention), 4 groups
    ('resnest14d', False),  # timm (GluonCV's ResNeSt-14)
])
def test_reference_checkpoints_convert_to_the_reference_function(name, avd_first, expected,
                                                                 tmp_path):
    src, dst = OFFICIAL / f'resnest_{name}_w16.pth', tmp_path / 'out.pth'
    # reduced widths: no released variant has these shapes, so avd_first must be said
    with pytest.raises(ConversionError, match='cannot show avd_first: say it with '
                                              '--avd-first, --no-avd-first'):
        convert_checkpoint(None, str(src), str(dst), log=lambda s: None)
    assert not dst.exists()
    lines = []
    meta = convert_checkpoint(None, str(src), str(dst), log=lines.append,
                              settings={'avd_first': avd_first})['mmfish']
    assert meta['decided']['avd_first'] == dict(value=avd_first, by='command line')
    assert meta['decided']['avd']['value'] is True
    assert 'every released ResNeSt has avd=True' in meta['decided']['avd']['by']
    assert f'avd_first={avd_first} (not visible in the weights): command line' in lines
    x, reference = expected['input'], expected[name]
    with torch.no_grad():
        assert max_rel_error(_logits(dst)(x, mode='tensor'), reference) < 1e-4
        # the other choice computes another function: the refusal above is needed
        wrong = _logits(dst, avd_first=not avd_first)(x, mode='tensor')
    assert max_rel_error(wrong, reference) > 1e-2


def test_released_file_name_with_a_verified_hash_picks_the_variant(tmp_path, monkeypatch):
    """``resnest50_fast_2s1x64d-<sha256>.pth`` has the shapes of ResNeSt-50: its released name
    picks the variant once the file's sha256 matches the prefix in the name."""
    state_file = tmp_path / 'weights.pth'
    _random_official_checkpoint(VARIANTS['resnest50-fast-2s1x64d'], state_file)
    digest = hashlib.sha256(state_file.read_bytes()).hexdigest()
    src = tmp_path / f'resnest50_fast_2s1x64d-{digest[:8]}.pth'
    shutil.move(state_file, src)
    # the table lists the real release; this stand-in has its own hash
    monkeypatch.setitem(VARIANTS, 'resnest50-fast-2s1x64d', dataclasses.replace(
        VARIANTS['resnest50-fast-2s1x64d'], files=(src.name, )))
    lines = []
    meta = convert_checkpoint(None, str(src), str(tmp_path / 'out.pth'),
                              log=lines.append)['mmfish']
    assert meta['variant'] == 'resnest50-fast-2s1x64d' and meta['sha256'] == digest
    assert meta['backbone']['avd_first'] is True
    assert meta['decided']['variant']['by'] == \
        f'the released file name {src.name} (sha256 verified)'
    assert meta['config'] == 'configs/mmpretrain/resnest/resnest50-fast-2s1x64d_64xb128_in1k.py'
    assert any('matches the prefix in the file name (the released file of '
               'resnest50-fast-2s1x64d)' in line for line in lines)


def test_a_file_whose_sha256_does_not_match_its_name_is_refused(tmp_path):
    src = tmp_path / 'resnest50-528c19ca.pth'
    _random_official_checkpoint(VARIANTS['resnest50'], src)
    data = src.read_bytes()
    src.write_bytes(data[:len(data) // 2])  # a truncated download
    with pytest.raises(ConversionError, match=r'sha256 begins with 528c19ca .* truncated or '
                                              r'corrupt.*--no-check-hash'):
        convert_checkpoint(None, str(src), str(tmp_path / 'out.pth'), log=lambda s: None)
    assert not (tmp_path / 'out.pth').exists()
    assert name_hash_prefix('mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth') == 'd4b0c5d6'
    assert name_hash_prefix('resnest50.pth') is None
    assert check_name_hash(str(tmp_path / 'resnest50.pth'), ConversionError) is None


def test_hash_check_can_be_turned_off_for_names_that_only_look_hashed(tmp_path):
    src = tmp_path / 'run-20201231.pth'
    _random_official_checkpoint(VARIANTS['resnest14d'], src)
    with pytest.raises(ConversionError, match='--no-check-hash'):
        convert_checkpoint(None, str(src), str(tmp_path / 'a.pth'), log=lambda s: None)
    meta = convert_checkpoint(None, str(src), str(tmp_path / 'a.pth'), log=lambda s: None,
                              check_hash=False)['mmfish']
    assert meta['variant'] == 'resnest14d' and meta['sha256'] is None
    assert 'the only one with these shapes' in meta['decided']['avd_first']['by']


def test_the_variant_named_must_fit_the_weights(tmp_path):
    src = tmp_path / 'resnest14.pth'
    _random_official_checkpoint(VARIANTS['resnest14d'], src)
    with pytest.raises(ConversionError, match='--variant resnest50 names resnest50, but the '
                                              'weights have the shapes of another model; the '
                                              'released variants with these shapes: resnest14d'):
        convert_checkpoint(None, str(src), str(tmp_path / 'a.pth'), log=lambda s: None,
                           variant='resnest50')
    with pytest.raises(ConversionError, match=r'--avd-first contradicts resnest14d '
                                              r'\(avd_first=False\), which --variant '
                                              r'resnest14d picked'):
        convert_checkpoint(None, str(src), str(tmp_path / 'a.pth'), log=lambda s: None,
                           variant='resnest14d', settings={'avd_first': True})
    assert not (tmp_path / 'a.pth').exists()


def test_openmmlab_checkpoint_config_decides(tmp_path):
    """A checkpoint saved by an OpenMMLab runner carries its config text in the meta: it is
    parsed (never executed) for what the weights cannot show."""
    model = ResNeSt(depth=50, base_channels=8, stem_channels=16, avd_first=True).eval()
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    cfg = Config(dict(model=dict(type='ImageClassifier', backbone=dict(
        type='mmfish.ResNeSt', depth=50, base_channels=8, stem_channels=16, avd_first=True))))
    src = tmp_path / 'epoch_3.pth'
    torch.save({'meta': {'cfg': cfg.pretty_text + '\nimport os; os.system("touch pwned")\n'},
                'state_dict': state}, src)
    meta = convert_checkpoint(None, str(src), str(tmp_path / 'out.pth'),
                              log=lambda s: None)['mmfish']
    assert meta['decided']['avd_first'] == dict(value=True,
                                                by="set in the checkpoint's config (meta)")
    assert meta['backbone']['avd_first'] is True
    assert not (tmp_path / 'pwned').exists()


@pytest.mark.parametrize('toolbox', ['mmdet', 'mmseg', 'mmpretrain'])
def test_toolbox_resnest_pools_after_the_split_attention_conv(toolbox):
    """What the converter takes for a toolbox's ResNeSt config: its blocks have
    ``avg_down_stride`` (default True) and no ``avd_first`` (tests/families/
    test_peer_equality.py shows the outputs equal mmfish's with avd_first=False)."""
    import importlib
    import inspect
    module = importlib.import_module(f'{toolbox}.models.backbones.resnest')
    params = inspect.signature(module.Bottleneck.__init__).parameters
    assert params['avg_down_stride'].default is True and 'avd_first' not in params


def test_command_line_flags(tmp_path):
    src = OFFICIAL / 'resnest_resnest14d_w16.pth'
    run = [sys.executable, '-m', 'mmfish.convert', str(src), str(tmp_path / 'out.pth')]
    refused = subprocess.run(run, capture_output=True, text=True)
    assert refused.returncode == 1 and '--avd-first, --no-avd-first' in refused.stderr
    done = subprocess.run(run + ['--no-avd-first'], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert 'avd_first=False (not visible in the weights): command line' in done.stdout
    help_text = subprocess.run([sys.executable, '-m', 'mmfish.convert', '--help'],
                               capture_output=True, text=True).stdout
    for option in ('--variant', '--avd-first', '--no-avd', '--no-check-hash',
                   'resnest50-fast-2s1x64d'):
        assert option in help_text


def test_training_checkpoint_of_a_dataparallel_model(tmp_path, expected):
    """A training checkpoint (``state_dict`` of a DataParallel model, optimizer state, epoch)
    converts as its state dict does."""
    state = torch.load(OFFICIAL / 'resnest_resnest14d_w16.pth')
    src = tmp_path / 'checkpoint.pth.tar'
    torch.save({'epoch': 120, 'state_dict': {f'module.{k}': v for k, v in state.items()},
                'optimizer': {'state': {0: {'momentum_buffer': torch.zeros(3)}},
                              'param_groups': [{'lr': 0.1, 'params': [0]}]}}, src)
    dst = tmp_path / 'out.pth'
    convert_checkpoint(None, str(src), str(dst), log=lambda s: None,
                       settings={'avd_first': False})
    with torch.no_grad():
        logits = _logits(dst)(expected['input'], mode='tensor')
    assert max_rel_error(logits, expected['resnest14d']) < 1e-4
