"""Res2Net-DLA: its feature pyramid, frozen stages, norm_eval, activation checkpointing, its
argument checks, its documentation, and building it through the downstream toolboxes."""
import pytest
import torch
from mmengine.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mmfish.models import Res2NetDLA

from tests.conftest import build_in_scope
from tests.core import test_docstrings as docstrings

SMALL = dict(depth=60, channels=(2, 4, 16, 32, 64, 128))  # every width / 8
SMALL_X = dict(depth=60, channels=(4, 8, 32, 64, 96, 128), groups=8, base_width=4)
#: the official trees of more than one level whose project the forward never uses
UNUSED = ('level3.project.', 'level4.project.', 'level4.tree1.project.')


def test_feature_pyramid_of_the_published_model():
    model = Res2NetDLA(depth=60).eval()
    assert [(f['num_chs'], f['reduction']) for f in model.feature_info] == [
        (128, 4), (256, 8), (512, 16), (1024, 32)]
    assert model.out_channels == (128, 256, 512, 1024)
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, 128, 16, 24), (1, 256, 8, 12),
                                              (1, 512, 4, 6), (1, 1024, 2, 3)]
    assert all(o.is_contiguous() for o in outs)
    # 21.15M parameters with the classifier (1024 x 1000 + 1000), as published
    assert sum(p.numel() for p in model.parameters()) + 1025000 == 21145544


@pytest.mark.parametrize('kwargs', [SMALL, SMALL_X], ids=['res2net', 'res2next'])
@pytest.mark.parametrize('size', [(1, 1), (7, 9), (33, 64)])
def test_any_input_size_gives_ceil_sized_levels(kwargs, size):
    model = Res2NetDLA(**kwargs, out_indices=(1, 3)).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, *size))
    expected = [(-(-size[0] // r), -(-size[1] // r)) for r in (8, 32)]
    assert [tuple(o.shape[2:]) for o in outs] == expected
    assert [o.shape[1] for o in outs] == [kwargs['channels'][3], kwargs['channels'][5]]


def test_frozen_stages_and_norm_eval():
    model = Res2NetDLA(**SMALL, frozen_stages=2, norm_eval=True)
    model.train()
    for name in ('base_layer', 'level0', 'level1', 'level2', 'level3'):
        module = getattr(model, name)
        assert not any(p.requires_grad for p in module.parameters()), name
        assert not any(m.training for m in module.modules()), name
    assert all(p.requires_grad for n, p in model.level4.named_parameters()
               if not n.startswith(('project.', 'tree1.project.')))
    assert not any(m.training for m in model.modules() if isinstance(m, _BatchNorm))
    model = Res2NetDLA(**SMALL, frozen_stages=-1).train()
    assert all(m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_unused_projections_take_no_gradients():
    """The official trees of more than one level have a project layer that their forward
    never uses: kept for the weights, but without gradients, so that every parameter that
    requires one gets one (DistributedDataParallel needs no find_unused_parameters)."""
    model = Res2NetDLA(**SMALL).train()
    unused = [n for n, _ in model.named_parameters() if n.startswith(UNUSED)]
    assert len(unused) == 3 * 3  # conv weight, BN weight and bias
    model(torch.rand(2, 3, 32, 32))[-1].sum().backward()
    for name, p in model.named_parameters():
        assert (p.grad is not None) == (name not in unused), name


@pytest.mark.parametrize('kwargs', [SMALL, SMALL_X], ids=['res2net', 'res2next'])
def test_with_cp_gives_the_same_outputs_and_gradients(kwargs):
    torch.manual_seed(0)
    plain = Res2NetDLA(**kwargs).train()
    cp = Res2NetDLA(**kwargs, with_cp=True).train()
    cp.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 32, 32)
    grads = []
    for model in (plain, cp):
        outs = model(x.clone().requires_grad_())
        sum(o.square().mean() for o in outs).backward()
        grads.append([p.grad for p in model.parameters() if p.grad is not None])
    assert len(grads[0]) == len(grads[1])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=34), r'depth=34 .* valid values: 60'),
    (dict(depth=60, channels=(16, 32, 128)), r'channels=\(16, 32, 128\) is invalid: give 6'),
    (dict(depth=60, channels=(16, 32, 128, 255, 512, 1024)), r'level3 has 255 channels, an odd'),
    (dict(depth=60, channels=(2, 4, 8, 32, 64, 128), base_width=4),
     r'base_width=4 .* 0 channels in level2: use base_width >= 16'),
    (dict(depth=60, out_indices=(4, )), r'out_indices=\(4,\) is invalid'),
    (dict(depth=60, frozen_stages=5), r'frozen_stages=5 .* -1 .* to 4'),
    (dict(depth=60, scales=0), r'scales=0 is invalid'),
    (dict(depth=60, groups=True), r'groups=True is invalid'),
    (dict(depth=60, with_cp='False'), r"with_cp='False' is invalid"),
    (dict(depth=60, norm_cfg='BN'), r"norm_cfg='BN' is invalid"),
    (dict(depth=60, base_widht=28), r"unknown argument 'base_widht' \(did you mean "
                                    r"'base_width'\?\)"),
    (dict(depth=60, dcn=dict(type='DCNv2')), r"'dcn' .* deformable convolutions"),
    (dict(depth=60, norm_cfg=dict(type='GN', num_groups=3)),
     r'norm_cfg=.* num_groups=3 does not divide .* valid num_groups .*: 1, 2'),
])
def test_bad_arguments_are_refused_clearly(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Res2NetDLA(**kwargs)


def test_documented_and_the_example_runs():
    docstrings.test_every_argument_is_documented_with_type_and_default(Res2NetDLA)
    docstrings.test_the_example_runs(Res2NetDLA)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
def test_builds_in_the_downstream_registries(scope):
    model = build_in_scope(scope, dict(type='mmfish.Res2NetDLA', **SMALL, out_indices=(0, 3),
                                       norm_cfg=dict(type='SyncBN', requires_grad=True)))
    assert type(model) is Res2NetDLA and model.out_channels == (16, 128)
    assert MODELS.get('mmfish.Res2NetDLA') is Res2NetDLA
