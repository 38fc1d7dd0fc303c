"""The Res2Net-DLA converter on checkpoints made and saved by the official code (dla.py of
Res2Net/Res2Net-PretrainedModels, at reduced widths: tools/reference_fixtures/res2net_dla.py),
on timm's layout, and its refusals."""
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmfish.weights import ConversionError, convert_checkpoint
from mmfish.testing import max_rel_error
from mmfish.variants import VARIANTS

from tests.conftest import DATA, REPO, build_in_scope, unpacked_fixture

OFFICIAL = DATA / 'official'
FIXTURES = {'res2net-dla60': 'res2net_dla60_w8.pth.gz',
            'res2next-dla60': 'res2next_dla60_w32.pth.gz'}
#: the official trees of more than one level whose project the forward never uses
UNUSED = ('level3.project.', 'level4.project.', 'level4.tree1.project.')


@pytest.fixture(scope='module')
def expected():
    return torch.load(OFFICIAL / 'res2net_dla_expected.pt')


def _fixture(name, tmp_path):
    """The official checkpoint as saved (decompressed from the committed .gz)."""
    return unpacked_fixture(FIXTURES[name], tmp_path)


def _classifier(name, channels, num_classes):
    """The variant's in1k classifier at the fixture's widths."""
    cfg = Config.fromfile(REPO / VARIANTS[name].config)
    cfg.model.backbone.channels = channels
    cfg.model.head.update(in_channels=channels[-1], num_classes=num_classes)
    return build_in_scope('mmpretrain', cfg.model).eval()


def _logits_error(name, dst, expected):
    ref = expected[FIXTURES[name]]
    model = _classifier(name, ref['channels'], expected['num_classes'])
    model.load_state_dict(torch.load(dst)['state_dict'], strict=True)
    with torch.no_grad():
        return max_rel_error(model(expected['input'], mode='tensor'), ref['logits'])


@pytest.mark.parametrize('name', list(FIXTURES))
def test_official_checkpoint_gives_the_official_logits(name, expected, tmp_path):
    src, dst = _fixture(name, tmp_path), tmp_path / 'out.pth'
    lines = []
    meta = convert_checkpoint(None, str(src), str(dst), log=lines.append)['mmfish']
    assert 'family: Res2NetDLA (detected from the keys)' in lines
    backbone = dict(VARIANTS[name].backbone, channels=tuple(expected[FIXTURES[name]]['channels']))
    assert meta['backbone'] == backbone
    assert meta['layout'] == 'official' and meta['num_classes'] == 10
    assert meta['variant'] is None  # no published variant has these widths
    assert _logits_error(name, dst, expected) < 1e-4


def test_timm_layout_gives_the_official_logits(expected, tmp_path):
    """timm's DLA leaves the unused project layers out (and loads the official weights with
    strict=False): its state dict converts, the layers filled, to the same model."""
    from timm.models.dla import DLA, DlaBottle2neck
    name = 'res2net-dla60'
    ref = expected[FIXTURES[name]]
    official = torch.load(_fixture(name, tmp_path))
    timm_model = DLA(levels=(1, 1, 1, 2, 3, 1), channels=ref['channels'], block=DlaBottle2neck,
                     cardinality=1, base_width=28, num_classes=10).eval()
    result = timm_model.load_state_dict(official, strict=False)
    assert not result.missing_keys
    assert result.unexpected_keys and all(k.startswith(UNUSED) for k in result.unexpected_keys)
    src, dst = tmp_path / 'dla60_res2net.pth', tmp_path / 'out.pth'
    torch.save(timm_model.state_dict(), src)
    lines = []
    meta = convert_checkpoint('res2netdla', str(src), str(dst), log=lines.append)['mmfish']
    assert meta['layout'].startswith('timm (without the unused project layers of level3, '
                                     'level4, level4.tree1')
    assert _logits_error(name, dst, expected) < 1e-4


def test_converted_backbone_loads_as_pretrained(expected, tmp_path):
    from mmfish.models import Res2NetDLA
    name = 'res2next-dla60'
    dst = tmp_path / 'out.pth'
    convert_checkpoint(None, str(_fixture(name, tmp_path)), str(dst), log=lambda s: None)
    channels = expected[FIXTURES[name]]['channels']
    model = Res2NetDLA(depth=60, channels=channels, groups=8, base_width=4,
                       init_cfg=dict(type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    model.init_weights()
    state = torch.load(dst)['state_dict']
    assert all(torch.equal(v, state[f'backbone.{k}']) for k, v in model.state_dict().items())


def test_command_line_detects_the_family(tmp_path):
    src, dst = _fixture('res2net-dla60', tmp_path), tmp_path / 'out.pth'
    run = [sys.executable, '-m', 'mmfish.convert', str(src), str(dst)]
    result = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'family: Res2NetDLA (detected from the keys)' in result.stdout and dst.is_file()
    forced = subprocess.run(run[:-1] + [str(tmp_path / 'other.pth'), '--family', 'res2net'],
                            capture_output=True, text=True, cwd=tmp_path)
    assert forced.returncode == 1 and 'belong to a Res2NetDLA checkpoint' in forced.stderr
    assert '--family res2netdla' in forced.stderr and not (tmp_path / 'other.pth').exists()


def test_plain_dla_is_refused(tmp_path):
    from timm.models.dla import DLA, DlaBottleneck
    plain = DLA(levels=(1, 1, 1, 2, 3, 1), channels=(2, 4, 16, 32, 64, 128),
                block=DlaBottleneck, num_classes=10)
    src = tmp_path / 'dla60.pth'
    torch.save(plain.state_dict(), src)
    with pytest.raises(ConversionError, match=r'no Res2Net split convolutions .* a plain DLA'):
        convert_checkpoint('res2netdla', str(src), str(tmp_path / 'out.pth'), log=lambda s: None)
    assert not (tmp_path / 'out.pth').exists()


def test_split_widths_that_fit_neither_are_refused(tmp_path):
    state = torch.load(_fixture('res2net-dla60', tmp_path))
    for i in range(3):  # level5's splits 7 channels wider than any base width gives
        key = f'level5.tree1.convs.{i}.weight'
        state[key] = torch.zeros(state[key].shape[0] + 7, *state[key].shape[1:])
    src = tmp_path / 'odd.pth'
    torch.save(state, src)
    with pytest.raises(ConversionError, match=r'fit neither Res2Net-DLA .* nor Res2NeXt-DLA'):
        convert_checkpoint(None, str(src), str(tmp_path / 'out.pth'), log=lambda s: None)


def test_other_levels_are_refused(tmp_path):
    state = torch.load(_fixture('res2net-dla60', tmp_path))
    state = {k: v for k, v in state.items() if not k.startswith('level1.')}
    src = tmp_path / 'odd.pth'
    torch.save(state, src)
    with pytest.raises(ConversionError, match=r'\(1, 0, 1, 2, 3, 1\) levels; known: DLA-60: '
                                              r'\(1, 1, 1, 2, 3, 1\)'):
        convert_checkpoint('res2netdla', str(src), str(tmp_path / 'out.pth'),
                           log=lambda s: None)
