"""Deformable convolutions whose offset convs fit both ``DCN`` and ``DCNv2`` (``3 x 9 x 2 =
2 x 9 x 3 = 54`` channels for a 3x3 kernel: mmdet's ResNeSt with ``DCNv2`` and 2 deformable
groups, the setting of detectron2's ResNeSt zoo). The type is decided by ``--dcn-type``, then by
the checkpoint's own config, as ResNeSt's ``avd`` and ``avd_first`` are; otherwise the
conversion is refused with both candidates and the flag."""
import pytest
import torch
from mmengine.config import Config

from mmfish.weights import ConversionError, convert_checkpoint, main
from mmfish.models import Res2Net, ResNeSt
from mmfish.testing import max_rel_error, randomize_norms

from tests.conftest import build_in_scope

#: reduced widths whose 3x3 convs have multiples of 6 channels, so both types can run
SMALL = dict(depth=50, base_channels=24, stem_channels=24)
#: mmfish's arguments for 24 channels per split in Res2Net's layer1 (mmdet's base_width=24)
WIDTH = {'ResNeSt': {}, 'Res2Net': dict(base_width=64)}
STAGES = (False, True, False, True)
MODELS = {'ResNeSt': ResNeSt, 'Res2Net': Res2Net}
#: the family's deformable 3x3 conv in the first block of layer4
DCN_CONV = {'ResNeSt': lambda m: m.layer4[0].conv2.conv, 'Res2Net': lambda m: m.layer4[0].convs[0]}


def _mmfish_state(family, **kwargs):
    with torch.device('meta'):
        model = MODELS[family](**SMALL, **WIDTH[family], **kwargs)
    return {f'backbone.{k}': torch.zeros(v.shape) for k, v in model.state_dict().items()}


def _ambiguous(tmp_path, family='ResNeSt', meta=None):
    """A checkpoint whose offset convs have 54 channels (mmfish's own layout, no config)."""
    state = _mmfish_state(family, dcn=dict(type='DCN', deform_groups=3),
                          stage_with_dcn=STAGES)
    assert state['backbone.' + ('layer4.0.conv2.conv.conv_offset.weight' if family == 'ResNeSt'
                                else 'layer4.0.convs.0.conv_offset.weight')].shape[0] == 54
    src = tmp_path / f'{family.lower()}_dcn.pth'
    torch.save({'state_dict': state, **({'meta': meta} if meta else {})}, src)
    return src


def _convert(family, src, dst, **kwargs):
    # reduced widths: no released ResNeSt has these shapes, so avd_first is said
    settings = dict(avd_first=False) if family == 'ResNeSt' else None
    return convert_checkpoint(family.lower(), str(src), str(dst), log=lambda s: None,
                              settings=settings, **kwargs)['mmfish']


def _build(meta, dst):
    cfg = dict(meta['backbone'])
    model = MODELS[cfg.pop('type')](**cfg)
    state = torch.load(dst)['state_dict']
    model.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()
                           if k.startswith('backbone.')}, strict=True)
    return model.eval()


@pytest.mark.parametrize('family', ['ResNeSt', 'Res2Net'])
def test_ambiguous_offsets_are_refused_with_both_candidates_and_the_flag(tmp_path, family):
    src, dst = _ambiguous(tmp_path, family), tmp_path / 'out.pth'
    with pytest.raises(ConversionError) as info:
        _convert(family, src, dst)
    message = str(info.value)
    assert "type='DCN' with deform_groups=3 or type='DCNv2' with deform_groups=2" in message
    assert '54 = 2 x 9 x 3 = 3 x 9 x 2' in message
    assert 'pick one with --dcn-type DCN or --dcn-type DCNv2' in message
    assert not dst.exists()


@pytest.mark.parametrize('family', ['ResNeSt', 'Res2Net'])
@pytest.mark.parametrize('dcn_type,groups,op', [('DCN', 3, 'DeformConv2dPack'),
                                                ('DCNv2', 2, 'ModulatedDeformConv2dPack')])
def test_the_flag_picks_the_type_and_the_model_loads_strictly(tmp_path, family, dcn_type,
                                                              groups, op):
    import mmcv.ops
    src, dst = _ambiguous(tmp_path, family), tmp_path / 'out.pth'
    lines = []
    meta = convert_checkpoint(family.lower(), str(src), str(dst), log=lines.append,
                              settings=dict(avd_first=False) if family == 'ResNeSt' else None,
                              dcn_type=dcn_type)['mmfish']
    assert meta['backbone']['dcn'] == dict(type=dcn_type, deform_groups=groups,
                                           fallback_on_stride=False)
    assert meta['backbone']['stage_with_dcn'] == STAGES
    assert meta['decided']['dcn_type'] == dict(value=dcn_type, by='command line')
    assert f'dcn_type={dcn_type} (not visible in the weights): command line' in lines
    conv = DCN_CONV[family](_build(meta, dst))  # (strict loading inside)
    assert isinstance(conv, getattr(mmcv.ops, op))
    assert conv.deform_groups == groups


def test_the_command_line_flag(tmp_path, capsys):
    src = _ambiguous(tmp_path)
    assert main('resnest', [str(src), str(tmp_path / 'a.pth'), '--no-avd-first']) == 1
    assert '--dcn-type DCN or --dcn-type DCNv2' in capsys.readouterr().err
    assert main('resnest', [str(src), str(tmp_path / 'a.pth'), '--no-avd-first',
                            '--dcn-type', 'DCNv2']) == 0
    meta = torch.load(tmp_path / 'a.pth')['meta']['mmfish']
    assert meta['backbone']['dcn']['type'] == 'DCNv2'
    assert main(None, [str(src), str(tmp_path / 'b.pth'), '--no-avd-first',
                       '--dcn-type', 'DCN']) == 0
    assert torch.load(tmp_path / 'b.pth')['meta']['mmfish']['backbone']['dcn']['type'] == 'DCN'
    with pytest.raises(SystemExit):  # FishNet has no deformable convolutions to decide
        main('fishnet', [str(src), str(tmp_path / 'c.pth'), '--dcn-type', 'DCN'])


def _randomize(model, seed=0):
    """Random norms and offsets (the offset convs start at zero, which would hide a wrong
    type: with zero offsets and masks of 0.5 both types compute a plain convolution, scaled)."""
    randomize_norms(model, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'conv_offset' in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    model.eval()  # (mmdet's ResNet.train returns None: no chaining)
    return model


def _mmdet_peer(family):
    """mmdet's ResNeSt or Res2Net with DCNv2 and 2 deformable groups, and its config."""
    dcn = dict(type='DCNv2', deform_groups=2, fallback_on_stride=False)
    extra = dict(radix=2, reduction_factor=4, avg_down_stride=True) if family == 'ResNeSt' else \
        dict(scales=4, base_width=24)
    peer_cfg = dict(type=family, **SMALL, **extra, dcn=dcn, stage_with_dcn=STAGES)
    peer = _randomize(build_in_scope('mmdet', Config(peer_cfg).to_dict()))
    return peer, peer_cfg


def _peer_checkpoint(tmp_path, peer, peer_cfg):
    src = tmp_path / 'mmdet.pth'
    text = Config(dict(default_scope='mmdet',
                       model=dict(type='FasterRCNN', backbone=peer_cfg))).pretty_text
    torch.save({'meta': {'cfg': text},
                'state_dict': {f'backbone.{k}': v for k, v in peer.state_dict().items()}}, src)
    return src


@pytest.mark.parametrize('family', ['ResNeSt', 'Res2Net'])
def test_mmdet_config_in_the_meta_decides_and_gives_mmdets_outputs(tmp_path, family):
    """An mmdet checkpoint (its config text in meta['cfg']) converts without a flag; the model
    gives mmdet's outputs, and the other type does not."""
    peer, peer_cfg = _mmdet_peer(family)
    src, dst = _peer_checkpoint(tmp_path, peer, peer_cfg), tmp_path / 'out.pth'
    meta = convert_checkpoint(family.lower(), str(src), str(dst), log=lambda s: None)['mmfish']
    assert meta['backbone']['dcn'] == dict(type='DCNv2', deform_groups=2,
                                           fallback_on_stride=False)
    assert meta['decided']['dcn_type'] == dict(
        value='DCNv2',
        by="dcn=dict(type='DCNv2', deform_groups=2) in the checkpoint's config (meta)")
    x = torch.rand(2, 3, 96, 96)  # mmdet's DCN needs 3x3 inputs at layer4
    with torch.no_grad():
        ours, theirs = _build(meta, dst)(x), peer(x)
    assert max_rel_error(ours, theirs) < 1e-4
    # the flag outranks the config (as --avd-first does): the other type, another function
    other = convert_checkpoint(family.lower(), str(src), str(tmp_path / 'other.pth'),
                               log=lambda s: None, dcn_type='DCN')['mmfish']
    assert other['backbone']['dcn'] == dict(type='DCN', deform_groups=3, fallback_on_stride=False)
    assert other['decided']['dcn_type'] == dict(value='DCN', by='command line')
    with torch.no_grad():
        wrong = _build(other, tmp_path / 'other.pth')(x)
    assert max_rel_error(wrong, theirs) > 1e-2


@pytest.mark.parametrize('dcn_type,groups', [('DCN', 3), ('DCNv2', 2)])
def test_mmdet2_config_in_the_meta_decides(tmp_path, dcn_type, groups):
    """mmdet 2.x and mmcv runners save the config text in meta['config']."""
    text = Config(dict(model=dict(type='MaskRCNN', backbone=dict(
        type='ResNeSt', dcn=dict(type=dcn_type, deform_groups=groups, fallback_on_stride=False),
        stage_with_dcn=STAGES)))).pretty_text
    src, dst = _ambiguous(tmp_path, meta={'config': text}), tmp_path / 'out.pth'
    meta = convert_checkpoint('resnest', str(src), str(dst), log=lambda s: None)['mmfish']
    assert meta['backbone']['dcn']['type'] == dcn_type
    assert meta['decided']['dcn_type']['value'] == dcn_type
    assert meta['decided']['dcn_type']['by'].endswith("in the checkpoint's config (meta)")
    assert meta['decided']['avd_first']['by'].startswith("the checkpoint's config (meta)")


def test_a_config_that_fits_neither_is_refused(tmp_path):
    """The meta's config says DCNv2 with one deformable group (27 offset channels): it does not
    describe these weights (54), so it decides nothing."""
    peer, peer_cfg = _mmdet_peer('ResNeSt')
    stale = dict(peer_cfg, dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False))
    src, dst = _peer_checkpoint(tmp_path, peer, stale), tmp_path / 'out.pth'
    with pytest.raises(ConversionError) as info:
        convert_checkpoint('resnest', str(src), str(dst), log=lambda s: None)
    message = str(info.value)
    assert "config (meta) has dcn=dict(type='DCNv2', deform_groups=1), which is neither" in message
    assert 'does not describe these weights: pick one with --dcn-type DCN or --dcn-type DCNv2' \
        in message
    assert not dst.exists()


def test_a_flag_the_weights_contradict_is_refused(tmp_path):
    # 27 offset channels: only DCNv2 with one deformable group
    state = _mmfish_state('ResNeSt', dcn=dict(type='DCNv2'), stage_with_dcn=STAGES)
    src, dst = tmp_path / 'v2.pth', tmp_path / 'out.pth'
    torch.save({'state_dict': state}, src)
    with pytest.raises(ConversionError, match="--dcn-type DCN contradicts the weights: their "
                                              "offset convs fit only type='DCNv2' with "
                                              "deform_groups=1"):
        _convert('ResNeSt', src, dst, dcn_type='DCN')
    # the agreeing flag converts; the weights showed the type, so nothing was decided
    meta = _convert('ResNeSt', src, dst, dcn_type='DCNv2')
    assert meta['backbone']['dcn']['type'] == 'DCNv2' and 'dcn_type' not in meta['decided']


def test_a_flag_without_deformable_convolutions_is_refused(tmp_path):
    src, dst = tmp_path / 'plain.pth', tmp_path / 'out.pth'
    torch.save({'state_dict': _mmfish_state('ResNeSt')}, src)
    with pytest.raises(ConversionError, match='no deformable convolutions'):
        _convert('ResNeSt', src, dst, dcn_type='DCNv2')
    with pytest.raises(ConversionError, match="'DCNv3' is not a deformable convolution type"):
        _convert('ResNeSt', src, dst, dcn_type='DCNv3')
    assert not dst.exists()
