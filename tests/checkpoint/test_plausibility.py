"""Values and layer sets that have the right shapes but cannot be a model's weights: refused by
the converter (nothing written) and by ``init_cfg=Pretrained`` (nothing loaded), with what was
wrong and what is valid."""
import re
import warnings

import pytest
import torch

from mmfish.checkpoint import CheckpointError, ConversionError
from mmfish.weights import convert_checkpoint
from mmfish.models import Res2Net, ResNeSt
from mmfish.variants import VARIANTS

from tests.conftest import official_layouts
from tests.weights.test_conversion import _random_official_checkpoint
from tests.test_bad_input import _convert

SMALL = dict(depth=50, base_channels=8, stem_channels=16)


def _official_resnest(path, **changes):
    """A ResNeSt-50 checkpoint in the official layout, random but plausible (BatchNorm
    variances >= 0), with ``changes`` (``key: function of the tensor``) applied."""
    state = _random_official_checkpoint(VARIANTS['resnest50'], path)
    state = {k: v.abs() if k.endswith('running_var') else v for k, v in state.items()}
    for key, change in changes.items():
        state[key] = change(state[key])
    torch.save(state, path)


def _quantized(w):
    with warnings.catch_warnings():  # deprecated in torch, still loadable from a file
        warnings.simplefilter('ignore')
        return torch.quantize_per_tensor(w, 0.1, 0, torch.qint8)


#: (key, change, what the message says about it)
CHANGES = {
    'negative-running-var': ('layer1.0.bn1.running_var', lambda v: v.abs().index_fill(
        0, torch.tensor([0, 2]), -0.5), r'\(2 negative of \d+ values \(min -0\.5\); a variance '
                                        r'is >= 0\)'),
    'sparse': ('layer1.0.conv1.weight', lambda w: w.to_sparse(),
               r'\(sparse \(torch\.sparse_coo\), not a dense tensor\)'),
    'meta': ('layer1.0.conv1.weight', lambda w: torch.empty(w.shape, device='meta'),
             r'\(a meta tensor, which holds no data \(only a shape\)\)'),
    'quantized': ('layer1.0.conv1.weight', _quantized,
                  r'\(quantized \(torch\.qint8\), not floating point\)'),
    'complex': ('layer1.0.conv1.weight', lambda w: w.to(torch.complex64),
                r'\(complex \(torch\.complex64\), not real floating point\)'),
}


@pytest.mark.parametrize('name', list(CHANGES))
def test_converter_refuses_tensors_that_cannot_be_weights(tmp_path, name):
    key, change, message = CHANGES[name]
    src, dst = tmp_path / 'resnest.pth', tmp_path / 'out.pth'
    _official_resnest(src, **{key: change})
    with pytest.raises(ConversionError, match=rf'1 tensor cannot be weights: '
                                              rf'{re.escape("backbone." + key)} {message}'):
        _convert(src, dst)
    assert not dst.exists()


@pytest.mark.parametrize('name', list(CHANGES))
def test_pretrained_refuses_tensors_that_cannot_be_weights(tmp_path, name):
    key, change, message = CHANGES[name]
    state = ResNeSt(**SMALL).state_dict()
    state[key] = change(state[key])
    path = tmp_path / 'm.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in state.items()}}, path)
    model = ResNeSt(**SMALL, init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                           prefix='backbone.'))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError, match=rf'{re.escape(str(path))}: nothing was loaded:+ 1 '
                                              rf'tensor cannot be weights: {re.escape(key)} '
                                              rf'{message}'):
        model.init_weights()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize('weight, message', [
    (lambda w: w[:0], r'the classifier fc\.weight \(0, 2048\) / fc\.bias \(0,\) has 0 classes, so '
                      r'it predicts nothing: a classifier has at least 1 class'),
    (lambda w: w.sum(), r'the classifier fc\.weight \(\) / fc\.bias \(0,\) does not fit the '
                        r'backbone: expected \(classes, 2048\)'),
], ids=['zero-classes', 'no-matrix'])
def test_a_classifier_that_predicts_nothing_is_refused(tmp_path, weight, message):
    src, dst = tmp_path / 'resnest.pth', tmp_path / 'out.pth'
    _official_resnest(src, **{'fc.weight': weight, 'fc.bias': lambda b: b[:0]})
    with pytest.raises(ConversionError, match=message):
        _convert(src, dst)
    assert not dst.exists()


# -- Res2Net blocks under a stem that no Res2Net has -----------------------------------------
def _layout(official_name):
    """Zero tensors with the keys and shapes of an official model's state dict."""
    return {k: torch.zeros(shape, dtype=torch.long if dtype == 'int64' else torch.float32)
            for k, shape, dtype in official_layouts()[official_name]}


def _stem(state):
    return {k: v for k, v in state.items() if k.startswith(('conv1.', 'bn1.'))}


def _refused(tmp_path, state):
    src, dst = tmp_path / 'res2net.pth', tmp_path / 'out.pth'
    torch.save(state, src)
    with pytest.raises(ConversionError) as info:
        convert_checkpoint('res2net', str(src), str(dst), log=lambda s: None)
    assert not dst.exists()
    return str(info.value)


def test_res2net_v1_blocks_under_resnest50s_deep_stem_are_refused(tmp_path):
    """ResNeSt-50's official stem (conv1.0/1/3/4/6 of 32, 32, 64 channels, bn1) is also Res2Net
    v1b's; before v1 blocks (conv shortcuts: downsample.0 conv, .1 norm) no Res2Net has it."""
    blocks = {k: v for k, v in _layout('res2net50_26w_4s').items()
              if not k.startswith(('conv1.', 'bn1.'))}
    message = _refused(tmp_path, {**_stem(_layout('resnest50')), **blocks})
    assert 'no Res2Net has this stem: a deep stem of three 3x3 convs (32, 32, 64 channels) ' \
           'before a layer1 of 64 planes, with conv shortcuts; no Res2Net pairs the deep stem ' \
           'with conv shortcuts (its deep stem comes with avg-down shortcuts)' in message
    assert 'v1: the 7x7 stem conv and conv shortcuts' in message
    assert 'v1b / vd: the deep stem of three 3x3 convs' in message
    assert message.endswith('The released Res2Net variants with these blocks: res2net50-w26-s4 '
                            '(7x7 stem, conv shortcuts), res2net50-v1b-w26-s4 (deep stem, '
                            'avg-down shortcuts)')


def test_res2net_blocks_under_resnest101s_deep_stem_are_refused(tmp_path):
    """ResNeSt-101's stem (64, 64, 128 channels) before Res2Net-50 v1b blocks whose first convs
    take its 128 channels: shapes that fit each other, a stem no Res2Net has."""
    state = {**_layout('res2net50_v1b_26w_4s'), **_stem(_layout('resnest101'))}
    state['layer1.0.conv1.weight'] = torch.zeros(104, 128, 1, 1)
    state['layer1.0.downsample.1.weight'] = torch.zeros(256, 128, 1, 1)
    message = _refused(tmp_path, state)
    assert 'a deep stem of three 3x3 convs (64, 64, 128 channels) before a layer1 of 64 planes, ' \
           'with avg-down shortcuts; the stem gives layer1 128 channels where a Res2Net gives ' \
           "its 64 planes (stem_channels == base_channels); a deep stem twice as wide as the " \
           "planes is ResNeSt's (ResNeSt-101/200/269: 64, 64, 128 channels before 64 planes)" \
           in message
    assert message.endswith('with these blocks: res2net50-w26-s4 (7x7 stem, conv shortcuts), '
                            'res2net50-v1b-w26-s4 (deep stem, avg-down shortcuts)')


def test_custom_widths_with_a_res2net_stem_still_convert(tmp_path):
    """A stem that a Res2Net has converts at any width (here a deep stem of 16 channels before
    16 planes, mmfish's layout): a custom config, no released variant."""
    model = Res2Net(depth=50, base_channels=16, stem_channels=16, base_width=32, deep_stem=True,
                    avg_down=True)
    src, dst = tmp_path / 'res2net.pth', tmp_path / 'out.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in model.state_dict().items()}}, src)
    # (mmdet's Res2Net has these keys too: without a config the split style is said)
    meta = convert_checkpoint('res2net', str(src), str(dst), log=lambda s: None,
                              settings=dict(split_style='official'))['mmfish']
    assert meta['variant'] is None and dst.exists()
    assert meta['backbone'] == dict(type='Res2Net', depth=50, stem_channels=16, deep_stem=True,
                                    avg_down=True, base_channels=16, base_width=32)


def test_every_released_res2net_has_a_res2net_stem():
    from mmfish.families.res2net.conversion import stem_problems
    released = [v for v in VARIANTS.values() if v.backbone['type'] == 'Res2Net']
    assert released and all(stem_problems(v.backbone) == [] for v in released)
