"""Odd arguments and checkpoint keys, each refused with what was wrong and what is valid:
integer arguments given as floats, init_cfg given as a string, checkpoint keys that are not
strings or that mix DataParallel's ``module.`` prefix with plain keys, and ``~`` in a
pretrained checkpoint's path."""
import re

import numpy as np
import pytest
import torch

from mmfish.checkpoint import CheckpointError, ConversionError
from mmfish.models import FishNet, Res2Net, Res2NetDLA, ResNeSt

from tests.test_bad_input import _convert, _official_resnest

#: small models of each family
SMALL = {ResNeSt: dict(depth=50, base_channels=8, stem_channels=16),
         Res2Net: dict(depth=50, base_channels=8, stem_channels=16),
         FishNet: dict(depth=99, base_channels=8),
         Res2NetDLA: dict(depth=60, channels=(8, 16, 32, 64, 128, 256))}


def _build(cls, **kwargs):
    return cls(**{**SMALL[cls], **kwargs})


# -- checkpoint keys --------------------------------------------------------------------------
def _pretrained(path):
    return ResNeSt(depth=50, base_channels=8, stem_channels=16,
                   init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))


def _saved_backbone(path, change=lambda state: state):
    """An mmfish checkpoint of the small ResNeSt-50 (keys under ``backbone.``), changed by
    ``change``; returns the backbone's own state dict."""
    state = _build(ResNeSt).state_dict()
    torch.save({'state_dict': change({f'backbone.{k}': v for k, v in state.items()})}, path)
    return state


def _half_wrapped(state):
    keys = list(state)
    return {f'module.{k}' if i % 2 else k: state[k] for i, k in enumerate(keys)}


def test_mixed_module_prefix_is_named_not_blamed_on_the_model(tmp_path):
    src, dst = tmp_path / 'resnest.pth', tmp_path / 'out.pth'
    state = _official_resnest(src)
    torch.save(_half_wrapped(state), src)
    wrapped = len(state) // 2
    message = (rf"{wrapped} of its {len(state)} keys start with 'module\.' \(DataParallel's "
               rf"prefix\) and the others do not \(e\.g\. 'module\..+' and '.+'\): the file mixes "
               rf"two models' keys")
    with pytest.raises(ConversionError, match=message) as info:
        _convert(src, dst)
    assert 'avg_down' not in str(info.value)
    assert not dst.exists()
    # the same in an mmfish checkpoint loaded with init_cfg=Pretrained
    _saved_backbone(tmp_path / 'm.pth', _half_wrapped)
    with pytest.raises(CheckpointError, match="keys start with 'module.'.*mixes two models"):
        _pretrained(tmp_path / 'm.pth').init_weights()


def test_keys_all_wrapped_by_data_parallel_still_load(tmp_path):
    state = _saved_backbone(tmp_path / 'm.pth',
                            lambda s: {f'module.{k}': v for k, v in s.items()})
    model = _pretrained(tmp_path / 'm.pth')
    model.init_weights()
    assert torch.equal(model.layer1[0].conv1.weight, state['layer1.0.conv1.weight'])


def test_an_averaged_model_s_counter_is_not_a_mix(tmp_path):
    """``torch.optim.swa_utils.AveragedModel`` saves ``module.*`` weights beside a plain
    ``n_averaged`` counter: the prefix is stripped and the counter set aside."""
    model = torch.optim.swa_utils.AveragedModel(_build(ResNeSt))
    torch.save(model.state_dict(), tmp_path / 'swa.pth')
    assert 'n_averaged' in model.state_dict()
    from mmfish.checkpoint.io import load_state_dict
    state, rest = load_state_dict(str(tmp_path / 'swa.pth'))
    assert set(state) == set(model.module.state_dict()) and 'n_averaged' in rest


def test_keys_that_are_not_strings_are_named(tmp_path):
    src, dst = tmp_path / 'resnest.pth', tmp_path / 'out.pth'
    state = _official_resnest(src)
    torch.save({0: torch.zeros(1), **state}, src)
    message = (rf'1 of its {len(state) + 1} keys are not strings: 0 \(int\); '
               r"a state dict's keys are parameter names such as 'conv1\.weight'")
    with pytest.raises(ConversionError, match=message):
        _convert(src, dst)
    assert not dst.exists()
    _saved_backbone(tmp_path / 'm.pth', lambda s: {**s, 3: torch.zeros(1)})
    with pytest.raises(CheckpointError, match=r'keys are not strings: 3 \(int\)'):
        _pretrained(tmp_path / 'm.pth').init_weights()


# -- integer arguments ------------------------------------------------------------------------
#: each family's integer arguments, with a valid value of the small model
INTEGERS = {
    ResNeSt: dict(radix=2, groups=1, base_width=64, reduction_factor=4, stem_channels=16,
                  base_channels=8, in_channels=3, frozen_stages=1),
    Res2Net: dict(scales=4, base_width=26, groups=1, stem_channels=16, base_channels=8,
                  in_channels=3, frozen_stages=1),
    FishNet: dict(groups=1, base_width=64, base_channels=8, in_channels=3, frozen_stages=1),
    Res2NetDLA: dict(scales=4, base_width=28, groups=1, in_channels=3, frozen_stages=1),
}


@pytest.mark.parametrize('cls, name, value', [
    (cls, name, value) for cls, names in INTEGERS.items() for name, value in names.items()],
    ids=lambda x: getattr(x, '__name__', str(x)))
@pytest.mark.parametrize('kind', [float, str, bool])
def test_integer_arguments_refuse_other_types(cls, name, value, kind):
    odd = kind(value) if kind is not bool else True
    minimum = {'frozen_stages': -1, 'stem_channels': 2 if cls is ResNeSt else 1,
               'base_channels': 8 if cls is FishNet else 1}.get(name, 1)
    message = (f'^{name}={re.escape(repr(odd))} is invalid: it is a {kind.__name__}; it must '
               f'be an integer >= {minimum}$')
    with pytest.raises(ValueError, match=message):
        _build(cls, **{name: odd})


@pytest.mark.parametrize('cls', list(INTEGERS))
def test_numpy_integers_are_integers(cls):
    model = _build(cls, **{k: np.int64(v) for k, v in INTEGERS[cls].items()})
    assert model.frozen_stages == 1


@pytest.mark.parametrize('cls, depth', [(ResNeSt, 50.0), (Res2Net, 50.0), (FishNet, 99.0),
                                        (Res2NetDLA, 60.0), (ResNeSt, True), (FishNet, '99')])
def test_depth_must_be_an_integer(cls, depth):
    with pytest.raises(ValueError, match=rf'^depth={re.escape(repr(depth))} is not supported; '
                                         rf'valid values: [\d, ]+ \(integers, not a '
                                         rf'{type(depth).__name__}\)$'):
        _build(cls, depth=depth)


@pytest.mark.parametrize('cls', [ResNeSt, Res2Net])
@pytest.mark.parametrize('name', ['strides', 'dilations'])
def test_per_stage_integers_refuse_floats(cls, name):
    with pytest.raises(ValueError, match=rf'^{name}=\(1, 2\.0, 2, 2\) is invalid: give 4 '
                                         rf'integers >= 1, one per stage, .* \(2\.0 is a '
                                         rf'float\)$'):
        _build(cls, **{name: (1, 2.0, 2, 2)})


@pytest.mark.parametrize('cls', [ResNeSt, Res2Net, FishNet])
def test_num_stages_must_be_the_integer_4(cls):
    with pytest.raises(ValueError, match=r'^num_stages=4\.0 is not supported by .*valid: 4'):
        _build(cls, num_stages=4.0)


def test_res2net_dla_channels_must_be_integers():
    with pytest.raises(ValueError, match=r'^channels=\(8, 16, 32\.0, 64, 128, 256\) is '
                                         r'invalid: give 6 integers >= 1'):
        Res2NetDLA(depth=60, channels=(8, 16, 32.0, 64, 128, 256))


def test_out_indices_must_be_integers():
    with pytest.raises(ValueError, match=r'^out_indices=\(0, 3\.0\) is invalid; each index '
                                         r'must be in 0\.\.3'):
        _build(ResNeSt, out_indices=(0, 3.0))


# -- init_cfg ---------------------------------------------------------------------------------
EXAMPLE = re.escape("e.g. init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')")


@pytest.mark.parametrize('cls', list(INTEGERS))
def test_init_cfg_given_as_a_string_is_refused(cls):
    with pytest.raises(ValueError, match=rf"^init_cfg='Pretrained' is invalid: give a dict, "
                                         rf'{EXAMPLE}$'):
        _build(cls, init_cfg='Pretrained')


def test_init_cfg_list_entries_must_be_dicts():
    with pytest.raises(ValueError, match=r"^init_cfg=\[.*'Kaiming'\] is invalid: its entry 1 "
                                         rf"\('Kaiming'\) is not a dict; .*{EXAMPLE}$"):
        _build(ResNeSt, init_cfg=[dict(type='Constant', val=1, layer='_BatchNorm'), 'Kaiming'])
    model = _build(ResNeSt)
    model.init_cfg = 'Pretrained'  # set after construction: refused by init_weights
    with pytest.raises(ValueError, match="init_cfg='Pretrained' is invalid: give a dict"):
        model.init_weights()


@pytest.mark.parametrize('init_cfg, where', [(dict(checkpoint='x.pth'), 'it'),
                                             ([dict(checkpoint='x.pth')], r'its entry 0 \(.*\)')])
def test_init_cfg_without_type_is_refused(init_cfg, where):
    with pytest.raises(ValueError, match=rf'^init_cfg=.* is invalid: {where} has no type; '
                                         rf'{EXAMPLE}$'):
        _build(FishNet, init_cfg=init_cfg)


def test_pretrained_without_checkpoint_is_refused():
    model = _build(ResNeSt, init_cfg=dict(type='Pretrained', prefix='backbone.'))
    with pytest.raises(CheckpointError, match=r'init_cfg Pretrained needs checkpoint=PATH .*got '
                                              rf'checkpoint=None: {EXAMPLE}'):
        model.init_weights()


# -- ~ in the checkpoint path -----------------------------------------------------------------
def test_home_in_the_checkpoint_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    state = _saved_backbone(tmp_path / 'x.pth')
    model = _pretrained('~/x.pth')
    model.init_weights()
    assert torch.equal(model.layer1[0].conv1.weight, state['layer1.0.conv1.weight'])
    with pytest.raises(CheckpointError, match=re.escape(str(tmp_path / 'missing.pth'))):
        _pretrained('~/missing.pth').init_weights()
