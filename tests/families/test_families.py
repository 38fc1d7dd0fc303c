"""The contract every mmfish backbone shares with mmdet's ResNet."""
import pytest
import torch
from mmengine.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mmfish.core.base import ResidualBlock
from mmfish.models import FishNet, FishNeXt, Res2Net, ResNeSt

# small but real configurations of each family (and each Res2Net/ResNeSt option)
CONFIGS = {
    'fishnet99': dict(type=FishNet, depth=99, base_channels=16),
    'fishnext150': dict(type=FishNeXt, depth=150, base_channels=16, groups=4, base_width=16),
    'res2net50': dict(type=Res2Net, depth=50, base_channels=16, base_width=26),
    'res2net50-v1b': dict(type=Res2Net, depth=50, base_channels=16, stem_channels=32,
                          deep_stem=True, avg_down=True),
    'res2next50': dict(type=Res2Net, depth=50, base_channels=16, base_width=16, groups=2),
    'resnest50': dict(type=ResNeSt, depth=50, base_channels=16, stem_channels=32),
    'resnest50-radix1-avd-first': dict(type=ResNeSt, depth=50, base_channels=16,
                                       stem_channels=32, radix=1, groups=2, avd_first=True),
}


def build(name, **kwargs):
    cfg = dict(CONFIGS[name], **kwargs)
    return cfg.pop('type')(**cfg)


@pytest.mark.parametrize('name', CONFIGS)
def test_pyramid_shapes_and_strides(name):
    model = build(name).eval()
    x = torch.rand(2, 3, 64, 96)
    outs = model(x)
    assert len(outs) == 4
    for level, (out, info) in enumerate(zip(outs, model.feature_info)):
        stride = 4 * 2**level
        assert info['reduction'] == stride
        assert out.shape == (2, info['num_chs'], 64 // stride, 96 // stride)
    assert model.out_channels == tuple(i['num_chs'] for i in model.feature_info)


@pytest.mark.parametrize('name', CONFIGS)
def test_out_indices(name):
    model = build(name, out_indices=(1, 3)).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [8, 2]
    assert model.out_channels == (model.feature_info[1]['num_chs'],
                                  model.feature_info[3]['num_chs'])


@pytest.mark.parametrize('name', CONFIGS)
def test_frozen_stages(name):
    model = build(name, frozen_stages=1)
    model.train()
    stages = model.stage_modules()
    for frozen in stages[:2]:
        for m in frozen.modules():
            if isinstance(m, _BatchNorm):
                assert not m.training
        assert all(not p.requires_grad for p in frozen.parameters())
    for trainable in stages[2:]:
        assert all(p.requires_grad for p in trainable.parameters())
        assert any(m.training for m in trainable.modules() if isinstance(m, _BatchNorm))
    # frozen BN statistics do not move in a training forward pass
    before = {k: v.clone() for k, v in stages[0].state_dict().items()}
    model(torch.rand(2, 3, 64, 64))
    assert all(torch.equal(before[k], v) for k, v in stages[0].state_dict().items())


@pytest.mark.parametrize('name', CONFIGS)
def test_norm_eval(name):
    model = build(name, norm_eval=True)
    model.train()
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))


@pytest.mark.parametrize('name', CONFIGS)
def test_with_cp_same_outputs_and_gradients(name):
    plain = build(name)
    ckpt = build(name, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    assert any(isinstance(m, ResidualBlock) and m.with_cp for m in ckpt.modules())
    x = torch.rand(2, 3, 64, 64)
    outs = [sum(o.sum() for o in model(x)) for model in (plain, ckpt)]
    torch.testing.assert_close(outs[0], outs[1])
    for out in outs:
        out.backward()
    for (name_a, a), (_, b) in zip(plain.named_parameters(), ckpt.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name_a)


@pytest.mark.parametrize('name', CONFIGS)
def test_zero_init_residual(name):
    model = build(name, zero_init_residual=True)
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, ResidualBlock)]
    assert blocks
    for block in blocks:
        last = (block.conv3.conv.weight if hasattr(block.conv3, 'conv') else
                getattr(block, block.norm3_name).weight)
        assert torch.count_nonzero(last) == 0


@pytest.mark.parametrize('name', ['fishnet99', 'res2net50', 'resnest50'])
def test_group_norm_and_syncbn(name):
    extra = dict(base_width=32) if name == 'res2net50' else {}  # even split widths
    model = build(name, norm_cfg=dict(type='GN', num_groups=2, requires_grad=True), **extra)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert all(o.isfinite().all() for o in model(torch.rand(1, 3, 64, 64)))
    syncbn = build(name, norm_cfg=dict(type='SyncBN', requires_grad=True))
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in syncbn.modules())


@pytest.mark.parametrize('name', CONFIGS)
def test_pretrained_init_cfg_with_prefix(name, tmp_path):
    source = build(name)
    path = tmp_path / 'classifier.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}},
               path)
    model = build(name, init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                      prefix='backbone.'))
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize('type_name', ['FishNet', 'FishNeXt', 'Res2Net', 'ResNeSt'])
def test_registered_in_mmfish_scope(type_name):
    cls = MODELS.get(f'mmfish.{type_name}')
    assert cls.__name__ == type_name


@pytest.mark.parametrize('cls,kwargs,match', [
    (Res2Net, dict(depth=34), r'depth=34 .* valid values: 50, 101, 152'),
    (ResNeSt, dict(depth=18), r'depth=18 .* valid values: 14, 26, 50, 101, 152, 200, 269'),
    (FishNet, dict(depth=100), r'depth=100 .* valid values: 99, 150, 201'),
    (Res2Net, dict(depth=50, out_indices=(4, )), r'out_indices=\(4,\)'),
    (FishNet, dict(depth=99, frozen_stages=11), r'frozen_stages=11 .* -1 .* 10'),
    (ResNeSt, dict(depth=50, frozen_stages=5), r'frozen_stages=5 .* -1 .* 4'),
    (Res2Net, dict(depth=50, scales=0), r'scales=0'),
    (ResNeSt, dict(depth=50, radix=0), r'radix=0'),
    (Res2Net, dict(depth=50, strides=(1, 2, 2)), r'strides=\(1, 2, 2\)'),
    (ResNeSt, dict(depth=50, dilations=(1, 1, 2, 4, 8)), r'dilations='),
])
def test_invalid_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)
