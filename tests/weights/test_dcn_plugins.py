"""mmdet checkpoints of ResNeSt and Res2Net with deformable convolutions and ContextBlock
plugins: the converter reads ``dcn``, ``stage_with_dcn`` and ``plugins`` from the keys and
shapes, writes them in ``meta['mmfish']['backbone']``, and the model rebuilt from that meta
loads the weights strictly and gives mmdet's outputs."""
import pytest
import torch
from mmengine.config import Config

from mmfish.weights import ConversionError, convert_checkpoint
from mmfish.models import Res2Net, ResNeSt
from mmfish.testing import max_rel_error, randomize_norms

from tests.conftest import build_in_scope

CONTEXT = dict(cfg=dict(type='ContextBlock', ratio=1. / 4), stages=(False, True, True, True),
               position='after_conv3')
SMALL = dict(depth=50, base_channels=16, stem_channels=16)


def _randomize(model, seed=0):
    """Random norms, offsets and plugin weights: the offsets and the ContextBlock's last conv
    start at zero, which would hide a wrong layout."""
    randomize_norms(model, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'conv_offset' in name or 'context_block' in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    model.eval()  # (mmdet's ResNet.train returns None: no chaining)
    return model


def _checkpoint(peer, peer_cfg):
    # as mmdet's runner saves it: the config text (with its default_scope) in the meta
    text = Config(dict(default_scope='mmdet',
                       model=dict(type='FasterRCNN', backbone=peer_cfg))).pretty_text
    return {'meta': {'cfg': text},
            'state_dict': {f'backbone.{k}': v for k, v in peer.state_dict().items()}}


def _convert(tmp_path, family, checkpoint):
    src, dst = tmp_path / 'mmdet.pth', tmp_path / 'mmfish.pth'
    torch.save(checkpoint, src)
    meta = convert_checkpoint(family, str(src), str(dst), log=lambda s: None)
    cfg = dict(meta['mmfish']['backbone'])
    model = {'ResNeSt': ResNeSt, 'Res2Net': Res2Net}[cfg.pop('type')](**cfg)
    state = torch.load(dst)['state_dict']
    model.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith('backbone.')},
                          strict=True)
    return model.eval(), meta


@pytest.mark.parametrize('dcn_type,groups', [('DCN', 1), ('DCNv2', 1), ('DCN', 2)])
def test_mmdet_resnest_with_dcn_and_context_block(tmp_path, dcn_type, groups):
    peer_cfg = dict(type='ResNeSt', **SMALL, radix=2, reduction_factor=4,
                    avg_down_stride=True, stage_with_dcn=(False, True, False, True),
                    dcn=dict(type=dcn_type, deform_groups=groups, fallback_on_stride=False),
                    plugins=[CONTEXT])
    peer = _randomize(build_in_scope('mmdet', Config(peer_cfg).to_dict()))
    model, meta = _convert(tmp_path, 'resnest', _checkpoint(peer, peer_cfg))
    backbone = meta['mmfish']['backbone']
    assert backbone['dcn'] == dict(type=dcn_type, deform_groups=groups, fallback_on_stride=False)
    assert backbone['stage_with_dcn'] == (False, True, False, True)
    assert backbone['plugins'] == [dict(
        cfg=dict(type='ContextBlock', ratio=0.25, pooling_type='att',
                 fusion_types=('channel_add', )),
        stages=(False, True, True, True), position='after_conv3')]
    assert meta['mmfish']['variant'] is None  # a custom config
    x = torch.rand(2, 3, 96, 96)  # mmdet's DCN needs 3x3 inputs at layer4
    with torch.no_grad():
        ours, theirs = model(x), peer(x)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert max_rel_error(a, b) < 1e-4


def test_mmdet_res2net_with_dcn_and_context_blocks(tmp_path):
    plugins = [dict(CONTEXT, stages=(True, False, False, True)),
               dict(cfg=dict(type='ContextBlock', ratio=1. / 16, postfix='2',
                             fusion_types=('channel_add', 'channel_mul')),
                    stages=(False, False, True, True), position='after_conv3')]
    peer_cfg = dict(type='Res2Net', **SMALL, scales=4, base_width=26,
                    dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
                    stage_with_dcn=(False, False, True, True), plugins=plugins)
    peer = _randomize(build_in_scope('mmdet', Config(peer_cfg).to_dict()))
    model, meta = _convert(tmp_path, 'res2net', _checkpoint(peer, peer_cfg))
    backbone = meta['mmfish']['backbone']
    # mmdet's Res2Net, as its config says: no pool on the last split of layer1's first block
    assert backbone['split_style'] == 'mmdet'
    assert backbone['dcn']['type'] == 'DCNv2'
    assert [p['cfg'].get('postfix') for p in backbone['plugins']] == [None, '2']
    assert backbone['plugins'][1]['cfg']['ratio'] == 1. / 16
    x = torch.rand(2, 3, 96, 96)  # mmdet's DCN needs 3x3 inputs at layer4
    with torch.no_grad():
        ours, theirs = model(x), peer(x)
    for a, b in zip(ours, theirs):
        assert max_rel_error(a, b) < 1e-4


def _mmfish_state(**kwargs):
    with torch.device('meta'):
        model = ResNeSt(**SMALL, **kwargs)
    return {f'backbone.{k}': torch.zeros(v.shape) for k, v in model.state_dict().items()}


def _refusal(tmp_path, state):
    src = tmp_path / 'x.pth'
    torch.save({'state_dict': state}, src)
    with pytest.raises(ConversionError) as info:
        convert_checkpoint('resnest', str(src), str(tmp_path / 'y.pth'), log=lambda s: None,
                           settings=dict(avd_first=False))
    assert not (tmp_path / 'y.pth').exists()
    return str(info.value)


def test_offsets_that_fit_dcn_and_dcnv2_are_refused(tmp_path):
    # 54 offset channels: DCN with 3 deformable groups or DCNv2 with 2
    state = _mmfish_state(dcn=dict(type='DCN', deform_groups=3),
                          stage_with_dcn=(False, False, False, True))
    message = _refusal(tmp_path, state)
    assert "type='DCN' with deform_groups=3 or type='DCNv2' with deform_groups=2" in message


def test_plugins_before_the_last_conv_are_refused(tmp_path):
    state = _mmfish_state(plugins=[dict(cfg=dict(type='ContextBlock', ratio=1. / 4),
                                        position='after_conv2')])
    assert "position='after_conv1' and 'after_conv2'" in _refusal(tmp_path, state)


def test_other_plugin_types_are_refused(tmp_path):
    state = _mmfish_state(plugins=[dict(cfg=dict(type='NonLocal2d'), position='after_conv3',
                                        stages=(False, False, False, True))])
    assert 'nonlocal_block (NonLocal2d)' in _refusal(tmp_path, state)


def test_dcn_in_some_blocks_of_a_stage_is_refused(tmp_path):
    state = _mmfish_state(dcn=dict(type='DCN'), stage_with_dcn=(False, False, False, True))
    for key in [k for k in state if k.startswith('backbone.layer4.1.conv2.conv.conv_offset')]:
        del state[key]
    assert 'not in block 1 of 3' in _refusal(tmp_path, state)
