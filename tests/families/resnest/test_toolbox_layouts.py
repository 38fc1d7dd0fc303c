"""Checkpoints in a toolbox's own ResNeSt key layout (mmdet, mmseg, mmpretrain, mmpose): those
classes have no ``avd_first`` and always pool after the split-attention conv, so the layout
itself decides ``avd_first=False``, with or without a config in the meta; whether they pool at
all (``avd``) is their config's ``avg_down_stride``, else decided as for any file. The
official and timm layouts show neither (the official ``resnest50_fast_*`` files pool first):
tests/weights/test_decisions.py and test_converters.py keep their refusals."""
import pytest
import torch
from mmengine.config import Config

from mmfish.weights import ConversionError, convert_checkpoint
from mmfish.models import ResNeSt
from mmfish.testing import max_rel_error, randomize_norms

from tests.conftest import build_in_scope

#: reduced widths: no released variant has these shapes
SMALL = dict(depth=50, base_channels=8, stem_channels=16)
LAYOUT_DECISION = ('avd_first=False (not visible in the weights): the toolbox layout {}, that '
                   "of mmdet's, mmseg's, mmpretrain's and mmpose's ResNeSt, which always pool "
                   'after the split-attention conv')


def _peer(toolbox='mmdet', **cfg):
    peer = build_in_scope(toolbox, dict(type='ResNeSt', **cfg))
    randomize_norms(peer, seed=0)
    peer.eval()  # (mmdet's ResNet.train returns None: no chaining)
    return peer


def _convert(tmp_path, state, meta=None, **kwargs):
    src, dst = tmp_path / 'toolbox.pth', tmp_path / 'mmfish.pth'
    torch.save({'state_dict': state, **({'meta': meta} if meta else {})}, src)
    lines = []
    meta = convert_checkpoint(None, str(src), str(dst), log=lines.append, **kwargs)['mmfish']
    return meta, lines, dst


def _same_outputs(peer, meta, dst, size=64, **changes):
    """How far the outputs of the model built from the written config (with ``changes``),
    loaded strictly, are from the peer's."""
    cfg = dict(meta['backbone'], **changes)
    assert cfg.pop('type') == 'ResNeSt'
    model = ResNeSt(**cfg, out_indices=(0, 1, 2, 3))
    state = torch.load(dst)['state_dict']
    model.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    model, peer = model.double().eval(), peer.double()
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0),
                   dtype=torch.float64)
    with torch.no_grad():
        return max_rel_error(model(x), peer(x))


@pytest.mark.parametrize('prefix,layout', [
    ('backbone.', 'openmmlab'),  # as in a detector's checkpoint
    ('', 'openmmlab (without the backbone. prefix)'),  # the backbone's own state dict
])
def test_bare_mmdet_checkpoint_decides_avd_first_from_its_layout(tmp_path, prefix, layout):
    peer = _peer(**SMALL)
    state = {prefix + k: v for k, v in peer.state_dict().items()}
    meta, lines, dst = _convert(tmp_path, state)
    assert meta['layout'] == layout and meta['variant'] is None
    assert meta['decided']['avd_first']['value'] is False
    assert any(line.startswith(LAYOUT_DECISION.format(layout)) for line in lines), lines
    # avd: no config, no released variant with these shapes: every released one pools
    assert meta['decided']['avd'] == dict(
        value=True, by='the table of released variants: no released variant has these shapes, '
                       'and every released ResNeSt has avd=True')
    assert _same_outputs(peer, meta, dst) < 1e-12
    # the other choice computes another function: the decision matters
    assert _same_outputs(peer, meta, dst, avd_first=True) > 1e-3


def test_bare_mmdet_resnest50_converts_as_resnest50(tmp_path):
    """The shapes of ResNeSt-50 are those of resnest50 and resnest50-fast-2s1x64d
    (avd_first=True): in mmdet's layout the layout picks resnest50, where the same shapes in
    the official layout are refused as ambiguous (test_converters.py)."""
    peer = _peer(depth=50, stem_channels=64)
    meta, lines, dst = _convert(tmp_path, {f'backbone.{k}': v
                                           for k, v in peer.state_dict().items()})
    assert meta['variant'] == 'resnest50' and meta['backbone'] == dict(type='ResNeSt', depth=50)
    assert any(line.startswith(LAYOUT_DECISION.format('openmmlab')) for line in lines)
    assert meta['decided']['avd'] == dict(
        value=True, by='the table of released variants: resnest50 (the only one with these '
                       'shapes)')
    assert _same_outputs(peer, meta, dst, size=32) < 1e-12


def test_the_command_line_outranks_the_layout(tmp_path):
    """mmfish's own ResNeSt writes these keys too: one built with avd_first=True and saved
    without its config is said with --avd-first."""
    model = ResNeSt(**SMALL, avd_first=True)
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    meta, lines, dst = _convert(tmp_path, state, settings={'avd_first': True})
    assert meta['decided']['avd_first'] == dict(value=True, by='command line')
    assert meta['backbone']['avd_first'] is True


def test_a_config_in_the_meta_outranks_the_layout(tmp_path):
    # the toolbox's config: avd from avg_down_stride, avd_first from the class it builds
    cfg = dict(type='ResNeSt', **SMALL, avg_down_stride=False)
    peer = _peer(**{k: v for k, v in cfg.items() if k != 'type'})
    text = Config(dict(model=dict(type='FasterRCNN', backbone=cfg))).pretty_text
    meta, lines, dst = _convert(tmp_path, {f'backbone.{k}': v
                                           for k, v in peer.state_dict().items()},
                                meta={'cfg': text})
    assert meta['decided']['avd'] == dict(
        value=False, by="avg_down_stride in the checkpoint's config (meta)")
    assert meta['decided']['avd_first']['by'] == (
        "the checkpoint's config (meta) builds the toolbox's ResNeSt, which always pools after "
        'the split-attention conv')
    assert _same_outputs(peer, meta, dst) < 1e-12
    # mmfish's ResNeSt in the config: its avd_first, not the layout's
    text = Config(dict(model=dict(type='FasterRCNN', backbone=dict(
        type='mmfish.ResNeSt', **SMALL, avd_first=True)))).pretty_text
    model = ResNeSt(**SMALL, avd_first=True)
    meta, _, _ = _convert(tmp_path, {f'backbone.{k}': v for k, v in model.state_dict().items()},
                          meta={'cfg': text})
    assert meta['decided']['avd_first'] == dict(value=True,
                                                by="set in the checkpoint's config (meta)")


def test_an_mmfish_conversion_converts_again_with_its_own_record(tmp_path):
    """A file the converter wrote has these keys and its backbone in meta['mmfish']: that
    record decides, not the layout."""
    model = ResNeSt(**SMALL, avd_first=True)
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    _, _, first = _convert(tmp_path, state, settings={'avd_first': True})
    again = tmp_path / 'again.pth'
    meta = convert_checkpoint(None, str(first), str(again), log=lambda s: None)['mmfish']
    assert meta['decided']['avd_first'] == dict(
        value=True, by="meta['mmfish']['backbone'] (the file is mmfish's conversion)")
    assert meta['backbone']['avd_first'] is True


@pytest.mark.parametrize('toolbox', ['mmpretrain', 'mmpose', 'mmseg'])
def test_other_toolboxes_layouts(tmp_path, toolbox):
    """mmpretrain's and mmpose's ResNeSt name the deep stem's ConvModules (stem.0.conv) and
    leave out the stride-1 shortcut's pool; mmseg's has mmdet's keys."""
    peer = _peer(toolbox, **SMALL)
    meta, lines, dst = _convert(tmp_path, {f'backbone.{k}': v
                                           for k, v in peer.state_dict().items()})
    assert any(line.startswith(LAYOUT_DECISION.format('openmmlab')) for line in lines), lines
    peer_out = peer.double()
    cfg = dict(meta['backbone'])
    cfg.pop('type')
    model = ResNeSt(**cfg, out_indices=(3, ))
    state = torch.load(dst)['state_dict']
    model.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    x = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        theirs = peer_out(x)
        theirs = theirs if isinstance(theirs, tuple) else (theirs, )
        assert max_rel_error(model.double().eval()(x), theirs[-1:]) < 1e-12


@pytest.mark.parametrize('dcn_type', ['DCN', 'DCNv2'])
def test_mmdet_deformable_resnest_needs_no_avd_first(tmp_path, dcn_type):
    """mmdet's ResNeSt with deformable split-attention convs, saved without a config: the
    weights show the type (3 x 3 kernel, one deformable group: 18 or 27 offset channels), the
    layout avd_first."""
    peer = _peer(**SMALL, stage_with_dcn=(False, True, False, True),
                 dcn=dict(type=dcn_type, deform_groups=1, fallback_on_stride=False))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # the offsets start at zero, which would hide a wrong layout
        for name, p in peer.named_parameters():
            if 'conv_offset' in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    meta, lines, dst = _convert(tmp_path, {f'backbone.{k}': v
                                           for k, v in peer.state_dict().items()})
    assert meta['backbone']['dcn'] == dict(type=dcn_type, deform_groups=1,
                                           fallback_on_stride=False)
    assert meta['decided']['avd_first']['value'] is False
    assert any(line.startswith(LAYOUT_DECISION.format('openmmlab')) for line in lines), lines
    cfg = dict(meta['backbone'])
    cfg.pop('type')
    model = ResNeSt(**cfg, out_indices=(0, 1, 2, 3))
    state = torch.load(dst)['state_dict']
    model.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    x = torch.rand(2, 3, 96, 96)  # mmdet's DCN needs 3x3 inputs at layer4
    with torch.no_grad():
        assert max_rel_error(model.eval()(x), peer(x)) < 1e-4


def test_official_layout_keeps_its_refusal(tmp_path):
    """The same shapes in the official layout (no prefix, ``conv1.0`` deep stem) may be an
    official resnest50_fast file: still refused without a name, flag or config."""
    with torch.device('meta'):
        model = ResNeSt(**SMALL)
    state = {k: torch.zeros(v.shape, dtype=v.dtype) for k, v in model.state_dict().items()}
    for i in (0, 1, 3, 4, 6):  # mmfish's stem.<i> is the official conv1.<i>
        for suffix in ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'):
            if f'stem.{i}.{suffix}' in state:
                state[f'conv1.{i}.{suffix}'] = state.pop(f'stem.{i}.{suffix}')
    for suffix in ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'):
        state[f'bn1.{suffix}'] = state.pop(f'stem.7.{suffix}')
    with pytest.raises(ConversionError, match='cannot show avd_first: say it with '
                                              '--avd-first, --no-avd-first'):
        _convert(tmp_path, state)
