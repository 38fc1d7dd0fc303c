"""``channels_last='auto'``: the layout measured faster for the device, CPU ISA and mode
(``NCHW_FASTER``), laid out when the mode or the device changes, never during a forward."""
import pytest
import torch

from mmfish.core.layers import is_channels_last, memory_format
from mmfish.core.layers.memory_format import NCHW_FASTER, preferred_memory_format
from mmfish.models import FishNet, Res2Net, ResNeSt
from mmfish.testing import max_rel_error, randomize_norms

CL, NCHW = torch.channels_last, torch.contiguous_format
CPU = torch.device('cpu')


def _small(cls, **kwargs):
    return cls(depth=50, base_channels=8, stem_channels=8, **kwargs)


@pytest.fixture
def isa(monkeypatch):
    """Pretend the CPU's vector ISA is the one given: ``isa('AVX2')``."""
    def set_isa(name):
        monkeypatch.setattr(memory_format, 'cpu_isa', lambda: name)
    return set_isa


def _weights_layout(model):
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    return CL if is_channels_last(conv.weight) else NCHW


@pytest.mark.parametrize('cpu, training, cls, expected', [
    ('AVX2', True, ResNeSt, NCHW), ('AVX2', True, Res2Net, NCHW), ('AVX2', True, FishNet, CL),
    ('AVX2', False, ResNeSt, CL), ('AVX2', False, Res2Net, CL),
    ('AVX512', True, ResNeSt, CL), ('AVX512', False, Res2Net, CL),
    ('DEFAULT', True, ResNeSt, CL),  # not measured: the channels-last layout
])
def test_the_table_decides_per_isa_mode_and_family(isa, cpu, training, cls, expected):
    isa(cpu)
    assert preferred_memory_format(cls, CPU, training) == expected


def test_subclasses_and_other_devices(isa):
    isa('AVX2')
    sub = type('MyResNeSt', (ResNeSt, ), {})
    assert preferred_memory_format(sub, CPU, True) == NCHW
    # GPUs: channels-last (cuDNN's mixed-precision kernels), whatever the CPU
    assert preferred_memory_format(ResNeSt, torch.device('cuda'), True) == CL
    assert preferred_memory_format(ResNeSt, None, True) == NCHW  # no weights yet: the CPU
    assert all(kind in ('cpu', 'cuda') and isinstance(names, tuple)
               for (kind, _, _), names in NCHW_FASTER.items())


def test_auto_follows_the_mode_and_computes_the_same_function(isa):
    """Built in train mode on 'AVX2': NCHW; eval(): channels-last; train() again: NCHW. The
    parameter objects stay (an optimizer keeps them), the outputs are ordinary NCHW tensors
    and the same function; gradients follow the weights' layout."""
    isa('AVX2')
    model = randomize_norms(_small(ResNeSt))
    fixed = _small(ResNeSt, channels_last=False)
    fixed.load_state_dict(model.state_dict())
    params = list(model.parameters())
    assert model.channels_last == 'auto' and _weights_layout(model) == NCHW
    x = torch.rand(2, 3, 64, 64)
    model.eval()
    fixed.eval()
    assert _weights_layout(model) == CL and model.memory_format == CL
    with torch.no_grad():
        for a, b in zip(model(x), fixed(x)):
            assert a.is_contiguous() and max_rel_error(a, b) < 1e-4
    model.train()
    assert _weights_layout(model) == NCHW and list(model.parameters()) == params
    sum(o.pow(2).mean() for o in model(x)).backward()
    assert all(not is_channels_last(p.grad) for p in params if p.dim() == 4)
    isa('AVX512')
    model.eval()
    model.train()
    assert _weights_layout(model) == CL  # the layout is decided at each change of mode


@pytest.mark.parametrize('flag, layout', [(True, CL), (False, NCHW)])
def test_an_explicit_flag_is_kept_in_both_modes_and_after_to(isa, flag, layout):
    isa('AVX2')
    model = _small(Res2Net, channels_last=flag)
    for mode in (True, False, True):
        model.train(mode)
        assert _weights_layout(model) == layout
    other = CL if layout == NCHW else NCHW
    model.to(memory_format=other)  # the backbone's flag decides, not the caller
    assert _weights_layout(model) == layout
    model.to(torch.float64)
    assert _weights_layout(model) == layout and model.layer1[0].conv1.weight.dtype == torch.float64


def test_the_layout_changes_with_the_mode_only_not_in_forward(isa):
    """A model that only trains keeps one layout: forward passes never re-lay the weights."""
    isa('AVX2')
    model = _small(ResNeSt)
    weight = model.layer1[0].conv1.weight
    data_ptr = weight.data_ptr()
    for _ in range(2):
        model(torch.rand(2, 3, 32, 32))
    assert weight.data_ptr() == data_ptr
