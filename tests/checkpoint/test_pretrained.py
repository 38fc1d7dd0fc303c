"""``init_cfg=dict(type='Pretrained', ...)`` on an mmfish backbone loads strictly: any missing
or unexpected key or shape raises an error that summarises them and names the likely cause,
before any weight changes; a good checkpoint loads completely, in MMEngine's init chain."""
import re

import pytest
import torch
from mmengine.model import BaseModule

from mmfish.checkpoint import CheckpointError, CheckpointMismatchError
from mmfish.core import base as base_module
from mmfish.models import FishNet, FishNeXt, Res2Net, ResNeSt
from mmfish.testing import randomize_norms

from tests.conftest import DATA

TINY = dict(depth=50, base_channels=8)


def _pretrained(path, prefix=None):
    return dict(type='Pretrained', checkpoint=str(path), **({'prefix': prefix} if prefix else {}))


def _load(model, path, prefix=None):
    model.init_cfg = _pretrained(path, prefix)
    model.init_weights()
    return model


def _assert_loaded(model, source):
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def _fails(model, path, prefix=None):
    """The error of loading ``path``; the model's weights must be untouched."""
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointMismatchError) as err:
        _load(model, path, prefix)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.is_init
    message = str(err.value)
    assert message.startswith(f'{path}') and 'othing was loaded' in message
    return message


@pytest.fixture
def source():
    return randomize_norms(Res2Net(**TINY))


# -- what loads --------------------------------------------------------------------------------
@pytest.mark.parametrize('wrap,prefix', [
    (lambda s: s, None),
    (lambda s: {'state_dict': {f'backbone.{k}': v for k, v in s.items()}}, 'backbone.'),
    (lambda s: {'state_dict': {f'backbone.{k}': v for k, v in s.items()}}, 'backbone'),
    (lambda s: {'model': s, 'epoch': 3}, None),  # torchvision / DeiT-style wrapper
    (lambda s: {'state_dict': {f'module.{k}': v for k, v in s.items()}}, None),  # DataParallel
    (lambda s: {'state_dict': {f'module.backbone.{k}': v for k, v in s.items()}},
     'module.backbone.'),
    # BatchNorm's num_batches_tracked counters may be missing (older PyTorch)
    (lambda s: {k: v for k, v in s.items() if not k.endswith('num_batches_tracked')}, None),
], ids=['plain', 'prefix', 'prefix-without-dot', 'model', 'module', 'module-prefix',
        'no-counters'])
def test_loads_every_wrapper(source, tmp_path, monkeypatch, wrap, prefix):
    logged = []
    monkeypatch.setattr(base_module, 'print_log', lambda msg, **kw: logged.append((msg, kw)))
    path = tmp_path / 'ckpt.pth'
    torch.save(wrap(source.state_dict()), path)
    model = _load(Res2Net(**TINY), path, prefix)
    _assert_loaded(model, source)
    assert model.is_init
    num = len(model.state_dict())
    assert logged[-1][0].startswith(f'loaded {num} tensors from {path}')
    assert logged[-1][1] == dict(logger='current')


def test_pretrained_weights_skip_zero_init_and_win_over_other_init_cfg(source, tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(source.state_dict(), path)
    model = Res2Net(**TINY, zero_init_residual=True,
                    init_cfg=[dict(type='Constant', val=0.5, layer='Conv2d'), _pretrained(path)])
    model.init_weights()
    _assert_loaded(model, source)
    assert torch.count_nonzero(model.layer1[0].bn3.weight) > 0


def test_loads_inside_mmengine_init_chain(source, tmp_path):
    """A detector-like parent: its init_weights initialises its own layers and calls the
    backbone's, which loads; MMEngine's record of who initialised what stays consistent."""

    class Parent(BaseModule):

        def __init__(self):
            super().__init__(init_cfg=dict(type='Constant', val=0.25, layer='Linear'))
            self.backbone = Res2Net(**TINY, init_cfg=_pretrained(path, 'backbone.'))
            self.head = torch.nn.Linear(4, 2)

    path = tmp_path / 'detector.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()},
                'meta': {}}, path)
    parent = Parent()
    parent.init_weights()
    _assert_loaded(parent.backbone, source)
    assert parent.backbone.is_init and parent.is_init
    assert torch.all(parent.head.weight == 0.25)
    assert not hasattr(parent.backbone, '_params_init_info')  # cleaned up as MMEngine does
    parent.backbone.init_weights()  # a second call does nothing (MMEngine warns)
    _assert_loaded(parent.backbone, source)


def test_url_goes_through_mmengine_loaders(source, monkeypatch):
    from mmengine.runner.checkpoint import CheckpointLoader
    urls = []

    def fake_load(filename, map_location=None, logger='current'):
        urls.append((filename, map_location))
        return {'state_dict': source.state_dict()}

    monkeypatch.setattr(CheckpointLoader, 'load_checkpoint', staticmethod(fake_load))
    model = _load(Res2Net(**TINY), 'https://example.com/res2net.pth')
    _assert_loaded(model, source)
    assert urls == [('https://example.com/res2net.pth', 'cpu')]


# -- what does not, and why --------------------------------------------------------------------
def test_whole_model_checkpoint_without_prefix(source, tmp_path):
    path = tmp_path / 'classifier.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}},
               path)
    message = _fails(Res2Net(**TINY), path)
    assert f'{path} does not fit Res2Net(depth=50, ' in message
    assert ("425 of the model's keys are missing from the checkpoint: conv1.* (1 key), "
            'bn1.* (4 keys), layer1.* (80 keys), layer2.* (105 keys)') in message
    assert '510 keys of the checkpoint are not in the model: backbone.* (510 keys); e.g. ' \
           'backbone.conv1.weight' in message
    assert message.endswith("Likely cause: a classifier/detector/segmentor checkpoint: set "
                            "prefix='backbone.' in init_cfg.")


def test_backbone_only_checkpoint_with_prefix(source, tmp_path):
    path = tmp_path / 'backbone.pth'
    torch.save(source.state_dict(), path)
    message = _fails(Res2Net(**TINY), path, 'backbone.')
    assert message == (f"{path}: no key starts with prefix='backbone.'; it is a backbone-only "
                       f'checkpoint: remove prefix from init_cfg. Nothing was loaded.')
    path = tmp_path / 'classifier.pth'
    torch.save({f'backbone.{k}': v for k, v in source.state_dict().items()}, path)
    message = _fails(Res2Net(**TINY), path, 'model.')
    assert message == (f"{path}: no key starts with prefix='model.'; its keys start with "
                       f"backbone.* (510 keys): set prefix='backbone.'. Nothing was loaded.")


def test_checkpoint_of_another_family(tmp_path):
    path = tmp_path / 'resnest.pth'
    torch.save(ResNeSt(depth=50, base_channels=16, stem_channels=32).state_dict(), path)
    message = _fails(Res2Net(depth=50, base_channels=16), path)
    assert re.search(r'\n  \d+ tensors have another shape \(checkpoint vs model\): layer1\.\* '
                     r'\(\d+ keys\).*; e\.g\. layer1\.0\.conv1\.weight \(16, 32, 1, 1\) vs '
                     r'\(24, 64, 1, 1\)', message)
    assert ('Likely cause: this is a ResNeSt checkpoint (keys such as layer1.0.conv2.conv.weight'
            in message)
    assert "not a Res2Net one, or it was converted for the wrong family: build a " \
           "type='mmfish.ResNeSt' backbone for it" in message


def test_another_depth(tmp_path):
    path = tmp_path / 'res2net101.pth'
    torch.save(Res2Net(depth=101, base_channels=8).state_dict(), path)
    message = _fails(Res2Net(**TINY), path)
    assert '510 keys of the checkpoint are not in the model: layer3.* (510 keys)' in message
    assert message.endswith('Likely cause: the checkpoint is a Res2Net with depth=101, the '
                            "model has depth=50: build the backbone with the checkpoint's "
                            'arguments.')


def test_another_width(tmp_path):
    path = tmp_path / 'res2net-w16-s6.pth'
    torch.save(Res2Net(**TINY, scales=6, base_width=16).state_dict(), path)
    message = _fails(Res2Net(**TINY), path)
    assert 'layer1.0.convs.0.weight (2, 2, 3, 3) vs (3, 3, 3, 3)' in message
    assert ('the checkpoint is a Res2Net with scales=6, base_width=16, the model has scales=4, '
            'base_width=26') in message


def test_fishnext_weights_in_a_fishnet(tmp_path):
    path = tmp_path / 'fishnext.pth'
    torch.save(FishNeXt(depth=99, base_channels=16, groups=4, base_width=16).state_dict(), path)
    message = _fails(FishNet(depth=99, base_channels=16), path)
    assert 'tensors have another shape' in message
    assert 'the checkpoint is a FishNet with groups=4, base_width=16, the model has groups=1, ' \
           'base_width=64' in message


def test_official_fishnet_checkpoint_needs_converting(tmp_path):
    """The official FishNet-150 training checkpoint (widths / 8), as the official code saves
    it (DataParallel keys, a training-state wrapper)."""
    path = DATA / 'official' / 'fishnet150_w8_ckpt.tar'
    message = _fails(FishNet(depth=150, base_channels=8), path)
    assert 'keys of the checkpoint are not in the model: conv1.* (6 keys), conv2.* (6 keys), ' \
           'conv3.* (6 keys), fish.* (887 keys)' in message
    assert message.endswith('Likely cause: an un-converted checkpoint (official key layout): '
                            'convert it first with python -m mmfish.convert SRC DST (or python '
                            'tools/model_converters/fishnet2mmfish.py SRC DST) and load DST with '
                            "prefix='backbone.'.")


def test_official_res2net_layout_needs_converting(tmp_path):
    """The official v1b layout: a deep stem named conv1.0 .. conv1.6 and bn1, and the fc."""
    model = Res2Net(**TINY, deep_stem=True, avg_down=True, stem_channels=16)
    official = {}
    for key, value in model.state_dict().items():
        key = re.sub(r'^stem\.7\.', 'bn1.', key)
        official[re.sub(r'^stem\.', 'conv1.', key)] = value
    official.update({'fc.weight': torch.zeros(10, 256), 'fc.bias': torch.zeros(10)})
    path = tmp_path / 'res2net50_v1b.pth'
    torch.save(official, path)
    message = _fails(model, path)
    assert 'missing from the checkpoint: stem.* (15 keys)' in message
    assert 'Likely cause: an un-converted checkpoint (official key layout): convert it first ' \
           'with python -m mmfish.convert SRC DST (or python tools/model_converters/' \
           'res2net2mmfish.py SRC DST' in message


def test_mmdet_resnest_layout_needs_converting(tmp_path):
    """mmdet's ResNeSt builds layer1's stride-1 avg-down shortcut without its pool:
    downsample.0/1 there are downsample.1/2 in mmfish (and the official code)."""
    model = ResNeSt(depth=50, base_channels=16, stem_channels=32)
    state = {}
    for key, value in model.state_dict().items():
        m = re.match(r'layer1\.0\.downsample\.(\d)\.(.*)', key)
        state['backbone.' + (f'layer1.0.downsample.{int(m[1]) - 1}.{m[2]}' if m else key)] = value
    path = tmp_path / 'mask_rcnn_resnest.pth'
    torch.save({'state_dict': state}, path)
    message = _fails(model, path, 'backbone.')
    assert ("4 of the model's keys are missing from the checkpoint: layer1.* (4 keys); e.g. "
            'layer1.0.downsample.2.weight') in message
    assert '1 tensor has another shape (checkpoint vs model): layer1.* (1 key); e.g. ' \
           'layer1.0.downsample.1.weight (64,) vs (64, 32, 1, 1)' in message
    assert 'Likely cause: an un-converted checkpoint (openmmlab key layout): convert it first ' \
           'with python -m mmfish.convert SRC DST (or python tools/model_converters/' \
           'resnest2mmfish.py' in message


def test_batchnorm_checkpoint_in_a_group_norm_model(source, tmp_path):
    path = tmp_path / 'bn.pth'
    torch.save(source.state_dict(), path)
    model = Res2Net(**TINY, norm_cfg=dict(type='GN', num_groups=1))
    message = _fails(model, path)
    assert 'Likely cause: the checkpoint has BatchNorm layers (running statistics) and the ' \
           'model has none: it was trained with BN or SyncBN' in message


def test_truncated_or_corrupt_file(source, tmp_path):
    good, bad = tmp_path / 'good.pth', tmp_path / 'truncated.pth'
    torch.save(source.state_dict(), good)
    data = good.read_bytes()
    bad.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match=rf'^{re.escape(str(bad))} could not be read as a '
                                              r'PyTorch checkpoint \(is it truncated or '
                                              r'corrupt, or not a checkpoint\?\)'):
        _load(Res2Net(**TINY), bad)
    with pytest.raises(CheckpointError, match=r'missing\.pth: no such file$'):
        _load(Res2Net(**TINY), tmp_path / 'missing.pth')
    torch.save([1, 2], tmp_path / 'list.pth')
    with pytest.raises(CheckpointError, match=r'list\.pth holds a list, not a state dict$'):
        _load(Res2Net(**TINY), tmp_path / 'list.pth')
    assert issubclass(CheckpointMismatchError, CheckpointError)
    assert issubclass(CheckpointError, ValueError)


def test_two_pretrained_entries_are_refused(tmp_path):
    model = Res2Net(**TINY, init_cfg=[_pretrained(tmp_path / 'a.pth'),
                                      _pretrained(tmp_path / 'b.pth')])
    with pytest.raises(ValueError, match='has 2 Pretrained entries; give one checkpoint'):
        model.init_weights()
