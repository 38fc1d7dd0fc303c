"""mmfish's Res2Net and ResNeSt against the independent implementations that the toolboxes
and timm ship: the same weights, converted by mmfish's converters, give the same outputs."""
import pytest
import torch
from mmengine.config import Config

from mmfish.weights import ConversionError, convert_checkpoint
from mmfish.models import Res2Net, ResNeSt
from mmfish.testing import max_rel_error, randomize_norms

from tests.conftest import build_in_scope

FAMILY = {'Res2Net': 'res2net', 'ResNeSt': 'resnest'}


def _convert_and_build(tmp_path, family, checkpoint, variant=None, settings=None, **kwargs):
    src, dst = tmp_path / 'peer.pth', tmp_path / 'mmfish.pth'
    torch.save(checkpoint, src)
    meta = convert_checkpoint(FAMILY[family], str(src), str(dst), log=lambda s: None,
                              variant=variant, settings=settings)
    cfg = dict(meta['mmfish']['backbone'], **kwargs)
    cls = {'Res2Net': Res2Net, 'ResNeSt': ResNeSt}[cfg.pop('type')]
    model = cls(**cfg)
    state = torch.load(dst)['state_dict']
    model.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
    return model.eval(), meta


PEERS = [
    ('mmdet', dict(type='ResNeSt', depth=50, stem_channels=64, radix=2, reduction_factor=4,
                   avg_down_stride=True), {}),
    ('mmseg', dict(type='ResNeSt', depth=50, stem_channels=64, radix=2, reduction_factor=4,
                   avg_down_stride=True, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                   contract_dilation=True),
     dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))),
    ('mmpretrain', dict(type='ResNeSt', depth=50), {}),
    ('mmdet', dict(type='Res2Net', depth=50, scales=4, base_width=26), {}),  # v1b by default
    ('mmdet', dict(type='Res2Net', depth=50, scales=8, base_width=14, deep_stem=False,
                   avg_down=False), {}),
    ('mmpretrain', dict(type='Res2Net', depth=50, scales=6, base_width=26, deep_stem=False,
                        avg_down=False), {}),
    ('mmpretrain', dict(type='Res2Net', depth=50, scales=4, base_width=26, deep_stem=True,
                        avg_down=True), {}),
]


@pytest.mark.parametrize('toolbox,peer_cfg,extra', PEERS,
                         ids=[f'{t}-{c["type"]}-{i}' for i, (t, c, _) in enumerate(PEERS)])
def test_equal_to_openmmlab_implementation(tmp_path, toolbox, peer_cfg, extra):
    peer = randomize_norms(build_in_scope(toolbox, dict(peer_cfg)))
    peer.eval()  # (mmdet's ResNet.train returns None: no chaining)
    # as the toolbox's runner saves it: the config text (with its default_scope) in the meta
    text = Config(dict(default_scope=toolbox, model=dict(
        type='ImageClassifier', backbone=peer_cfg))).pretty_text
    checkpoint = {'meta': {'cfg': text},
                  'state_dict': {f'backbone.{k}': v for k, v in peer.state_dict().items()}}
    model, meta = _convert_and_build(tmp_path, peer_cfg['type'], checkpoint, **extra)
    assert meta['mmfish']['layout'].startswith('openmmlab')
    if peer_cfg['type'] == 'Res2Net':  # mmdet's leaves out the pool of layer1.0's last split
        assert meta['mmfish']['decided']['split_style']['value'] == \
            ('mmdet' if toolbox == 'mmdet' else 'official')
    if peer_cfg['type'] == 'ResNeSt':  # avd_first: not in the weights, not set in the config
        assert meta['mmfish']['decided']['avd_first']['value'] is False
        assert 'always pools after the split-attention conv' in \
            meta['mmfish']['decided']['avd_first']['by']
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        ours, theirs = model(x), peer(x)
    theirs = theirs if isinstance(theirs, tuple) else (theirs, )
    ours = ours[-len(theirs):]
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert max_rel_error(a, b) < 1e-5


#: mmdet's Res2Net (always v1b) and the mmfish arguments of the same model; the second has a
#: dilated last stage, whose first block has stride 1 too (mmdet dilates every block of it)
MMDET_RES2NET = [
    (dict(type='Res2Net', depth=50, scales=4, base_width=26), {}),
    (dict(type='Res2Net', depth=50, scales=4, base_width=26, strides=(1, 2, 2, 1),
          dilations=(1, 1, 1, 2)),
     dict(strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2), contract_dilation=False)),
]


@pytest.mark.parametrize('peer_cfg,extra', MMDET_RES2NET, ids=['layer1', 'dilated-layer4'])
def test_mmdet_split_style_equals_mmdet_res2net(tmp_path, peer_cfg, extra):
    """``split_style='mmdet'`` computes what mmdet's own Res2Net computes, its block as it is
    (no pool on the last split of a stride-1 first block); the official style does not."""
    torch.manual_seed(0)
    peer = randomize_norms(build_in_scope('mmdet', dict(peer_cfg)))
    peer.eval()
    checkpoint = {'state_dict': {f'backbone.{k}': v for k, v in peer.state_dict().items()}}
    # mmfish's own Res2Net has these keys too: a bare state dict does not tell the style
    with pytest.raises(ConversionError, match=r"layout is mmdet's Res2Net's .*say it with "
                                              r"--split-style official\|mmdet\|paddle"):
        _convert_and_build(tmp_path, 'Res2Net', checkpoint)
    # as mmdet 2.x's mmcv runner saved it: meta['mmdet_version'] and meta['config']
    text = Config(dict(model=dict(type='FasterRCNN', backbone=peer_cfg))).pretty_text
    model, meta = _convert_and_build(
        tmp_path, 'Res2Net', dict(checkpoint, meta=dict(mmdet_version='2.7.0', config=text)),
        **extra)
    assert meta['mmfish']['decided']['split_style'] == dict(
        value='mmdet', by="the checkpoint's config (meta) builds mmdet's Res2Net, which leaves "
                          "out the pool of the last split in layer1's first block")
    model, meta = _convert_and_build(tmp_path, 'Res2Net', checkpoint,
                                     settings=dict(split_style='mmdet'), **extra)
    assert meta['mmfish']['decided']['split_style'] == dict(value='mmdet', by='command line')
    cfg = dict(meta['mmfish']['backbone'], **extra)
    cfg.pop('type')
    official = Res2Net(**dict(cfg, split_style='official')).eval()
    official.load_state_dict(model.state_dict())
    peer, model, official = peer.double(), model.double(), official.double()
    x = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        theirs, ours, other = peer(x), model(x), official(x)
    assert len(ours) == len(theirs) == 4
    assert max_rel_error(ours, theirs) < 1e-12
    # the official pool of the last split in the stride-1 first blocks changes every level
    assert all(max_rel_error(o, t) > 1e-4 for o, t in zip(other, theirs))


@pytest.mark.parametrize('timm_name,family,variant', [
    ('resnest50d', 'ResNeSt', 'resnest50'),
    ('res2net50_26w_4s', 'Res2Net', 'res2net50-w26-s4'),
    ('res2next50', 'Res2Net', 'res2next50'),
    ('res2net50d', 'Res2Net', 'res2net50-v1b-w26-s4'),
])
def test_equal_to_timm_in_the_official_layout(tmp_path, timm_name, family, variant):
    import timm
    peer = randomize_norms(timm.create_model(timm_name, pretrained=False)).eval()
    if variant == 'resnest50':  # also the shapes of resnest50_fast_2s1x64d: picked by name
        with pytest.raises(ConversionError, match='fit 2 released ResNeSt variants'):
            _convert_and_build(tmp_path, family, peer.state_dict())
        model, meta = _convert_and_build(tmp_path, family, peer.state_dict(), variant=variant)
        assert meta['mmfish']['decided']['avd_first'] == dict(
            value=False, by='resnest50, picked by --variant resnest50')
    else:
        model, meta = _convert_and_build(tmp_path, family, peer.state_dict())
    assert meta['mmfish']['layout'] == 'official'
    assert meta['mmfish']['variant'] == variant
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        assert max_rel_error(model(x)[-1], peer.forward_features(x)) < 1e-5


@pytest.mark.parametrize('toolbox', ['mmdet', 'mmseg', 'mmpretrain', 'mmpose'])
def test_resnest152_of_each_toolbox_switches_to_mmfish(tmp_path, toolbox):
    """ResNeSt-152 (3, 8, 36, 3 blocks) is in every toolbox's ``arch_settings``: its config
    switched by ``from_toolbox`` builds in the toolbox's scope, and mmdet's and mmpretrain's
    weights, converted, give their outputs (at a quarter of the width, to keep it quick)."""
    from mmfish.models.toolbox import from_toolbox
    peer_cfg = dict(type='ResNeSt', depth=152, base_channels=16, stem_channels=32)
    if toolbox in ('mmdet', 'mmseg'):
        peer_cfg.update(avg_down_stride=True)
    peer = randomize_norms(build_in_scope(toolbox, dict(peer_cfg)))
    peer.eval()
    assert [len(getattr(peer, name)) for name in peer.res_layers] == [3, 8, 36, 3]
    switched = from_toolbox(dict(peer_cfg), toolbox)
    model = build_in_scope(toolbox, switched).eval()
    assert [len(getattr(model, f'layer{i + 1}')) for i in range(4)] == [3, 8, 36, 3]
    if toolbox in ('mmseg', 'mmpose'):
        return  # their ResNeSt blocks are mmdet's and mmpretrain's (PEERS: equal at depth 50)
    text = Config(dict(default_scope=toolbox, model=dict(
        type='ImageClassifier', backbone=peer_cfg))).pretty_text
    checkpoint = {'meta': {'cfg': text},
                  'state_dict': {f'backbone.{k}': v for k, v in peer.state_dict().items()}}
    src, dst = tmp_path / 'peer.pth', tmp_path / 'mmfish.pth'
    torch.save(checkpoint, src)
    convert_checkpoint('resnest', str(src), str(dst), log=lambda s: None)
    state = torch.load(dst)['state_dict']
    model.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ours, theirs = model(x), peer(x)
    theirs = theirs if isinstance(theirs, tuple) else (theirs, )
    ours = ours[-len(theirs):]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert max_rel_error(a, b) < 1e-5
