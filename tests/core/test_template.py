"""What the backbones share through :class:`BackboneBase`: one forward over
``forward_levels``, the mmdet contract as a class attribute, GroupNorm's ``num_groups`` set
once every norm layer is known, and the norm layer named on PyTorch's one-value error without
changing the model."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmfish.core import contract
from mmfish.core.base import BackboneBase
from mmfish.core.family import FAMILIES
from mmfish.models import Res2Net, Res2NetDLA, ResNeSt
from mmfish.models.backbones import BACKBONES

#: a small configuration of each registered family's backbone (its ``Family.small``)
SMALL = {f.model: dict(f.small) for f in FAMILIES.values() if f.small}


def test_the_mmdet_contract_is_a_class_attribute():
    assert contract.MMDET_CONTRACT_BACKBONES == tuple(
        cls.__name__ for cls in BACKBONES if cls.mmdet_contract) == ('Res2Net', 'ResNeSt',
                                                                   'FishNet')
    assert not Res2NetDLA.mmdet_contract and not BackboneBase.mmdet_contract


@pytest.mark.parametrize('cls, next_stage', [(ResNeSt, 'layer2'), (Res2Net, 'layer2'),
                                             (Res2NetDLA, 'level3')],
                         ids=['ResNeSt', 'Res2Net', 'Res2NetDLA'])
def test_each_level_leaves_the_memory_format_before_the_next_stage_runs(cls, next_stage,
                                                                       monkeypatch):
    """In channels-last training, level 0 is taken out of the layout (``ToContiguous``)
    before the next stage runs: the autograd graph, and so the order in which gradients are
    summed, that the tiny twins' recorded training figures come from."""
    from mmfish.core.layers import memory_format
    calls = []
    apply = memory_format.ToContiguous.apply
    monkeypatch.setattr(memory_format.ToContiguous, 'apply',
                        lambda x: calls.append(1) or apply(x))
    model = cls(**SMALL[cls], channels_last=True).train()
    seen = []
    model.get_submodule(next_stage).register_forward_pre_hook(
        lambda module, inputs: seen.append(len(calls)))
    model(torch.rand(2, 3, 64, 64))
    assert seen == [1] and len(calls) == 4


@pytest.mark.parametrize('cls', list(SMALL), ids=lambda c: c.__name__)
def test_forward_returns_the_levels_of_out_indices(cls):
    model = cls(**SMALL[cls], out_indices=(1, 3)).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        levels = list(model.forward_levels(model._enter(x)))
        outs = model(x)
    assert len(levels) == 4 and len(outs) == 2
    for out, i in zip(outs, (1, 3)):
        assert out.is_contiguous() and torch.equal(out, levels[i])
        assert out.shape[1] == model.feature_info[i]['num_chs']


@pytest.mark.parametrize('cls', list(SMALL), ids=lambda c: c.__name__)
def test_group_norm_layers_are_plain_group_norms_with_the_groups_asked(cls):
    model = cls(**SMALL[cls], norm_cfg=dict(type='GN', num_groups=2, requires_grad=True))
    norms = [m for m in model.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert norms and all(type(m) is torch.nn.GroupNorm and m.num_groups == 2 for m in norms)
    assert model.norm_cfg == dict(type='GN', num_groups=2, requires_grad=True)
    if cls is Res2NetDLA:  # the unused projections keep their frozen parameters
        assert not any(p.requires_grad for p in model.level4.project.parameters())


def test_group_norm_divisibility_is_checked_without_building_again(monkeypatch):
    built = []
    init = Res2Net.__init__

    def counted_init(self, *positional, **kwargs):
        built.append(type(self))
        init(self, *positional, **kwargs)

    monkeypatch.setattr(Res2Net, '__init__', counted_init)
    with pytest.raises(ValueError, match=r'num_groups=3 does not divide the channels of \d+ '
                                         r'of its \d+ norm layers \(e\.g\. gn1: 64'):
        Res2Net(**SMALL[Res2Net], norm_cfg=dict(type='GN', num_groups=3))
    assert len(built) == 1


def test_the_one_value_error_leaves_the_model_as_it_was():
    model = ResNeSt(**SMALL[ResNeSt]).train()
    stats = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    x = torch.rand(1, 3, 64, 64)
    with pytest.raises(ValueError, match='the norm layer layer1.0.conv2.bn1 '):
        model(x)
    # the failing pass updated the statistics up to the failing layer; finding the layer
    # ran the model again without changing them
    after = model.state_dict()
    changed = {k for k in stats if not torch.equal(stats[k], after[k])}
    assert all(k.startswith(('stem.', 'layer1.0.')) for k in changed)
    assert [m.training for m in model.modules()] == modes
    assert not any(m._forward_pre_hooks for m in model.modules() if isinstance(m, _BatchNorm))
    again = ResNeSt(**SMALL[ResNeSt]).train()
    again.load_state_dict(stats)
    with pytest.raises(ValueError):
        list(again.forward_levels(again._enter(x)))
    for key, value in again.state_dict().items():
        assert torch.equal(value, after[key]), key  # the same as one failing pass
