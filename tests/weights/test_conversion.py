"""The converters on checkpoints in every source layout, and their failure modes."""
import os
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmfish.checkpoint import load_state_dict
from mmfish.weights import FAMILIES, ConversionError, convert_checkpoint
from mmfish.core.family import minimal
from mmfish.testing import max_rel_error, randomize_norms
from mmfish.variants import VARIANTS

from tests.conftest import DATA, build_in_scope, official_layouts
from tests.families.res2net.test_paddle_releases import PADDLE_RELEASES, save_paddle_release

OFFICIAL = DATA / 'official'
#: released variants whose weights have the same shapes (what tells them apart has no weights)
SAME_SHAPES = {'resnest50', 'resnest50-fast-2s1x64d'}
#: rows of the same architecture as an earlier row (other weights of the same model): a file
#: of their shapes converts as the earlier row, and as the row itself when it is named
SAME_ARCHITECTURE = {'fishnet150-welltrained': 'fishnet150',
                     'fishnet201-welltrained': 'fishnet201'}
REPO = DATA.parent.parent


def _random_official_checkpoint(variant, path):
    """A checkpoint with exactly the official keys and shapes and random values, saved in the
    official release format of its family."""
    state = {}
    for key, shape, dtype in official_layouts()[variant.official]:
        state[key] = (torch.randint(0, 5, shape) if dtype == 'int64' else
                      torch.rand(shape) + 0.5 if key.endswith('running_var') else  # >= 0
                      torch.randn(shape))
    if variant.family == 'fishnet':  # training checkpoint of a DataParallel model
        torch.save({'epoch': 100, 'arch': variant.official, 'best_prec1': 78.1,
                    'state_dict': {f'module.{k}': v for k, v in state.items()},
                    'optimizer': {'state': {}, 'param_groups': []}}, path)
    elif variant.official in PADDLE_RELEASES:  # a .pdparams pickle with Paddle's names
        state = save_paddle_release(state, path, variant.backbone['depth'])
    else:
        torch.save(state, path)
    return state


def _build_classifier(config_path):
    return build_in_scope('mmpretrain', Config.fromfile(config_path).model)


def _official_w8_error(dst) -> float:
    """Relative error of the logits of the converted ``fishnet150_w8_ckpt.tar`` fixture, loaded
    strictly into the FishNet-150 in1k config at its widths, against the official code's."""
    cfg = Config.fromfile(REPO / VARIANTS['fishnet150'].config)
    cfg.model.backbone.base_channels = 8
    cfg.model.neck.in_channels = 2112 // 8
    cfg.model.head.update(in_channels=2112 // 16, num_classes=10)
    model = build_in_scope('mmpretrain', cfg.model).eval()
    model.load_state_dict(torch.load(dst)['state_dict'], strict=True)
    expected = torch.load(OFFICIAL / 'fishnet150_w8_expected.pt')
    with torch.no_grad():
        return max_rel_error(model(expected['input'], mode='tensor'), expected['logits'])


def test_official_fishnet_checkpoint_gives_the_official_logits(tmp_path):
    """A FishNet-150-shaped model (every width / 8, 10 classes) made and saved by the official
    code: the converted checkpoint loads strictly and reproduces the official logits."""
    dst = tmp_path / 'fishnet.pth'
    meta = convert_checkpoint('fishnet', str(OFFICIAL / 'fishnet150_w8_ckpt.tar'), str(dst),
                              log=lambda s: None)['mmfish']
    assert meta['backbone'] == dict(type='FishNet', depth=150, base_channels=8)
    assert meta['num_classes'] == 10 and meta['layout'] == 'official'
    assert meta['variant'] is None  # no published variant has these widths
    assert _official_w8_error(dst) < 1e-4


def test_checkpoint_without_batchnorm_counters_converts(tmp_path):
    """PyTorch < 0.4.1 (FishNet was released with 0.4.0) saved BatchNorm without
    ``num_batches_tracked``: the counters are filled, the output says how many, and the
    converted model still gives the official logits."""
    ckpt = torch.load(OFFICIAL / 'fishnet150_w8_ckpt.tar', map_location='cpu')
    counters = [k for k in ckpt['state_dict'] if k.endswith('num_batches_tracked')]
    ckpt['state_dict'] = {k: v for k, v in ckpt['state_dict'].items() if k not in counters}
    src, dst = tmp_path / 'fishnet150_ckpt.tar', tmp_path / 'fishnet.pth'
    torch.save(ckpt, src)
    lines = []
    convert_checkpoint('fishnet', str(src), str(dst), log=lines.append)
    assert counters and any(f'{len(counters)} filled with 0' in line for line in lines)
    assert _official_w8_error(dst) < 1e-4


@pytest.mark.parametrize('name', list(VARIANTS))
def test_every_official_layout_loads_strictly_into_its_in1k_config(name, tmp_path):
    variant = VARIANTS[name]
    src, dst = tmp_path / 'official.pth', tmp_path / 'mmfish.pth'
    official = _random_official_checkpoint(variant, src)
    if name in SAME_SHAPES:  # refused with the candidates, converted when one is picked
        with pytest.raises(ConversionError, match=' or '.join(
                f'--variant {n}' for n in sorted(SAME_SHAPES))):
            convert_checkpoint(variant.family, str(src), str(dst), log=lambda s: None)
        assert not dst.exists()
    if name in SAME_ARCHITECTURE:
        meta = convert_checkpoint(variant.family, str(src), str(dst), log=lambda s: None)
        assert meta['mmfish']['variant'] == SAME_ARCHITECTURE[name]
        dst.unlink()
    named = name in SAME_SHAPES or name in SAME_ARCHITECTURE
    meta = convert_checkpoint(variant.family, str(src), str(dst), log=lambda s: None,
                              variant=name if named else None)['mmfish']
    assert meta['variant'] == name
    assert meta['backbone'] == dict(type=variant.backbone['type'], **minimal(
        variant.backbone, FAMILIES[variant.family].model))
    assert meta['config'] == variant.config
    assert meta['num_classes'] == 1000
    model = _build_classifier(REPO / variant.config)
    state = torch.load(dst)['state_dict']
    model.load_state_dict(state, strict=True)  # no missing, no unexpected keys
    # every official tensor arrives unchanged (the classifier's 1x1 conv as a linear weight)
    assert len(state) == len(official)
    assert sorted(v.sum().item() for v in state.values()) == pytest.approx(
        sorted(v.sum().item() for v in official.values()))


def test_mmpretrain_classifier_checkpoint(tmp_path):
    model = randomize_norms(_build_classifier(REPO / VARIANTS['res2net50-w14-s8'].config))
    src = tmp_path / 'mmpretrain.pth'
    # an mmpretrain-trained Res2Net, as mmpretrain's own ImageClassifier writes it
    peer = build_in_scope('mmpretrain', dict(type='ImageClassifier', backbone=dict(
        type='Res2Net', depth=50, scales=8, base_width=14, deep_stem=False,
        avg_down=False), neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=2048)))
    randomize_norms(peer).eval()
    torch.save({'meta': {}, 'state_dict': peer.state_dict()}, src)
    meta = convert_checkpoint('res2net', str(src), str(tmp_path / 'out.pth'),
                              log=lambda s: None)['mmfish']
    assert meta['variant'] == 'res2net50-w14-s8' and meta['num_classes'] == 1000
    model.load_state_dict(torch.load(tmp_path / 'out.pth')['state_dict'], strict=True)
    model.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert max_rel_error(model(x, mode='tensor'), peer(x, mode='tensor')) < 1e-5


def test_detector_checkpoint_converts_whole_or_backbone_only(tmp_path, capsys):
    cfg = dict(type='ResNeSt', depth=50, stem_channels=64, radix=2, reduction_factor=4,
               avg_down_stride=True)
    backbone = build_in_scope('mmdet', cfg)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state['neck.lateral_convs.0.conv.weight'] = torch.rand(256, 256, 1, 1)
    state['rpn_head.rpn_conv.weight'] = torch.rand(256, 256, 3, 3)
    src = tmp_path / 'mask_rcnn.pth'
    # as mmdet's runner saves it: the config text in the meta (it tells avd and avd_first)
    text = Config(dict(model=dict(type='MaskRCNN', backbone=cfg))).pretty_text
    torch.save({'meta': {'cfg': text}, 'state_dict': state}, src)
    meta = convert_checkpoint('resnest', str(src), str(tmp_path / 'out.pth'))['mmfish']
    out = capsys.readouterr().out
    assert 'carried over unchanged: 2 tensors of neck, rpn_head' in out
    assert 'the whole model (backbone, neck, rpn_head)' in out
    assert "avd_first=False (not visible in the weights): the checkpoint's config (meta) " \
           "builds the toolbox's ResNeSt, which always pools after" in out
    assert 'avd=True (not visible in the weights): avg_down_stride in the checkpoint' in out
    # no ImageNet classifier config for a detector: none is shipped for this one
    assert 'config: none shipped for this model (neck, rpn_head)' in out
    assert meta['variant'] == 'resnest50' and meta['num_classes'] is None
    assert meta['config'] is None and meta['parts'] == ['neck', 'rpn_head']
    written = torch.load(tmp_path / 'out.pth')['state_dict']
    for key in ('neck.lateral_convs.0.conv.weight', 'rpn_head.rpn_conv.weight'):
        assert torch.equal(written[key], state[key])
    assert len(written) == len(state)

    meta = convert_checkpoint('resnest', str(src), str(tmp_path / 'backbone.pth'),
                              backbone_only=True)['mmfish']
    out = capsys.readouterr().out
    assert '--backbone-only: left out 2 tensors of neck, rpn_head' in out
    assert 'backbone only' in out and 'config:' not in out
    assert meta['config'] is None and 'parts' not in meta
    written = torch.load(tmp_path / 'backbone.pth')['state_dict']
    assert all(k.startswith('backbone.') for k in written)


def test_wrong_family_names_the_keys_and_the_right_converter(tmp_path):
    import timm
    src, dst = tmp_path / 'resnest.pth', tmp_path / 'out.pth'
    torch.save(timm.create_model('resnest14d').state_dict(), src)
    with pytest.raises(ConversionError) as err:
        convert_checkpoint('res2net', str(src), str(dst), log=lambda s: None)
    message = str(err.value)
    assert 'conv2.conv.weight' in message or 'conv2.fc1' in message
    assert 'resnest2mmfish.py' in message
    assert not dst.exists()


def test_unknown_layout_names_the_unplaced_keys(tmp_path):
    src, dst = tmp_path / 'odd.pth', tmp_path / 'out.pth'
    torch.save({'encoder.block0.weight': torch.zeros(3), 'fc.weight': torch.zeros(2, 2)}, src)
    message = r'2 keys could not be placed in a FishNet model: encoder\.block0\.weight, fc'
    with pytest.raises(ConversionError, match=message):
        convert_checkpoint('fishnet', str(src), str(dst), log=lambda s: None)
    assert not dst.exists()


def test_truncated_file_is_named(tmp_path):
    good, bad = tmp_path / 'good.pth', tmp_path / 'bad.pth'
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7)}, good)
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ConversionError, match=r'bad\.pth could not be read .*truncated'):
        load_state_dict(str(bad))
    with pytest.raises(ConversionError, match='no such file'):
        load_state_dict(str(tmp_path / 'missing.pth'))


def test_failed_conversion_leaves_an_existing_output_untouched(tmp_path, monkeypatch):
    src = tmp_path / 'official.tar'
    _random_official_checkpoint(VARIANTS['fishnet99'], src)
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'previous')

    def failing_save(obj, f, *args, **kwargs):
        f.write(b'partial')
        raise OSError('disk full')

    monkeypatch.setattr(torch, 'save', failing_save)
    with pytest.raises(OSError, match='disk full'):
        convert_checkpoint('fishnet', str(src), str(dst), log=lambda s: None)
    assert dst.read_bytes() == b'previous'
    assert os.listdir(tmp_path) == sorted(os.listdir(tmp_path)) and \
        sorted(os.listdir(tmp_path)) == ['official.tar', 'out.pth']  # no temporary file left


@pytest.mark.parametrize('family', ['fishnet', 'res2net', 'resnest'])
def test_command_line(family, tmp_path):
    script = REPO / 'tools' / 'model_converters' / f'{family}2mmfish.py'
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint')
    result = subprocess.run([sys.executable, str(script), str(bad), str(tmp_path / 'out.pth')],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert 'nothing was written' in result.stderr and 'bad.pth' in result.stderr
    assert not (tmp_path / 'out.pth').exists()
    name = {'fishnet': 'fishnet99', 'res2net': 'res2net50-w26-s4', 'resnest': 'resnest14d'}[family]
    src = tmp_path / 'official.pth'
    _random_official_checkpoint(VARIANTS[name], src)
    result = subprocess.run([sys.executable, str(script), str(src), str(tmp_path / 'out.pth')],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f'variant: {name}' in result.stdout and VARIANTS[name].config in result.stdout


def test_python_m_mmfish_convert_detects_the_family(tmp_path):
    src, dst = tmp_path / 'resnest50.pth', tmp_path / 'checkpoints' / 'out.pth'
    _random_official_checkpoint(VARIANTS['resnest50'], src)
    run = [sys.executable, '-m', 'mmfish.convert', str(src), str(dst)]
    refused = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert refused.returncode == 1 and 'nothing was written' in refused.stderr
    assert 'resnest50 (avd_first=False); resnest50-fast-2s1x64d (avd_first=True)' in \
        refused.stderr and '--variant resnest50 or --variant resnest50-fast-2s1x64d' in \
        refused.stderr and not dst.exists()
    result = subprocess.run(run + ['--variant', 'resnest50'], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'family: ResNeSt (detected from the keys)' in result.stdout
    assert 'variant: resnest50' in result.stdout and dst.is_file()
    forced = subprocess.run(run[:-1] + [str(tmp_path / 'other.pth'), '--family', 'res2net'],
                            capture_output=True, text=True, cwd=tmp_path)
    assert forced.returncode == 1 and 'belong to a ResNeSt checkpoint' in forced.stderr
    assert '--family resnest' in forced.stderr and 'nothing was written' in forced.stderr


@pytest.mark.parametrize('backbone,key', [
    (dict(type='ResNeSt', depth=50), 'backbone.layer1.0.conv2.conv.weight'),
    (dict(type='Res2Net', depth=50, scales=4, base_width=4, groups=8),
     'backbone.layer1.0.convs.0.weight')])
def test_a_conv_stored_transposed_is_named(tmp_path, backbone, key):
    """A weight whose inputs and outputs are swapped (a non-square grouped conv) makes a width
    the shapes tell come out 0: a ConversionError, not a ZeroDivisionError."""
    from safetensors.torch import save_file
    model = build_in_scope('mmfish', dict(backbone))
    state = {f'backbone.{k}': v.contiguous() for k, v in model.state_dict().items()}
    assert state[key].shape[0] != state[key].shape[1]
    state[key] = state[key].transpose(0, 1).contiguous()
    save_file(state, str(tmp_path / 'weights.safetensors'))
    with pytest.raises(ConversionError, match='stored transposed'):
        convert_checkpoint(backbone['type'].lower(), str(tmp_path / 'weights.safetensors'),
                           str(tmp_path / 'out.pth'), log=lambda s: None)
    assert not (tmp_path / 'out.pth').exists()
