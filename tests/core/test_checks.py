"""Bad arguments fail when the backbone is built, bad inputs at the start of ``forward``, with
messages that name the argument or the input, the value received and what is valid; the
input check stays invisible to ``torch.compile`` and ``torch.onnx.export``."""
import warnings

import numpy as np
import pytest
import torch

from mmfish.models import FishNet, FishNeXt, Res2Net, ResNeSt

RES2NET = dict(depth=50, base_channels=8)
RESNEST = dict(depth=50, base_channels=16, stem_channels=32)
FISHNET = dict(depth=99, base_channels=8)


@pytest.mark.parametrize('cls,kwargs,match', [
    # depth: the valid ones are listed
    (Res2Net, dict(depth=34), r'^depth=34 is not supported; valid values: 50, 101, 152, 200$'),
    (ResNeSt, dict(depth=18),
     r'^depth=18 is not supported; valid values: 14, 26, 50, 101, 152, 200, 269$'),
    (FishNeXt, dict(depth=100), r'^depth=100 is not supported; valid values: 99, 150, 201$'),
    # pyramid levels and frozen stages
    (Res2Net, dict(depth=50, out_indices=(4, )),
     r'^out_indices=\(4,\) is invalid; each index must be in 0\.\.3 \(pyramid levels'),
    (FishNet, dict(depth=99, out_indices=()), r'^out_indices=\(\) is invalid; each index'),
    (ResNeSt, dict(depth=50, out_indices=(3, 1)),
     r'^out_indices=\(3, 1\) is invalid; give each level once, in increasing order: \(1, 3\)$'),
    (FishNet, dict(depth=99, out_indices=(2, 2)),
     r'^out_indices=\(2, 2\) is invalid; give each level once, .*: \(2,\)$'),
    (Res2Net, dict(depth=50, out_indices=3), r'^out_indices=3 is invalid; give a tuple of'),
    (FishNet, dict(depth=99, frozen_stages=11),
     r'^frozen_stages=11 is out of range for FishNet: valid values are -1 \(none\), 0 \(the '
     r'stem\) to 10'),
    (ResNeSt, dict(depth=50, frozen_stages=5), r'^frozen_stages=5 is out of range .* to 4 '),
    (Res2Net, dict(depth=50, frozen_stages=-2),
     r'^frozen_stages=-2 is invalid: it must be an integer >= -1$'),
    (Res2Net, dict(depth=50, frozen_stages=1.5), r'^frozen_stages=1\.5 is invalid: .* >= -1$'),
    # family arguments below 1
    (Res2Net, dict(depth=50, scales=0), r'^scales=0 is invalid: it must be an integer >= 1$'),
    (Res2Net, dict(depth=50, groups=0), r'^groups=0 is invalid: it must be an integer >= 1$'),
    (Res2Net, dict(depth=50, base_width=2.5), r'^base_width=2\.5 is invalid: .* >= 1$'),
    (ResNeSt, dict(depth=50, radix=0), r'^radix=0 is invalid: it must be an integer >= 1$'),
    (ResNeSt, dict(depth=50, reduction_factor=0), r'^reduction_factor=0 is invalid'),
    (FishNeXt, dict(depth=99, groups=0), r'^groups=0 is invalid: it must be an integer >= 1$'),
    (FishNet, dict(depth=99, base_width=-4), r'^base_width=-4 is invalid'),
    # channels
    (Res2Net, dict(depth=50, in_channels=0),
     r'^in_channels=0 is invalid: it must be an integer >= 1$'),
    (FishNet, dict(depth=99, in_channels=-3), r'^in_channels=-3 is invalid: .* >= 1$'),
    (ResNeSt, dict(depth=50, stem_channels=1),  # the deep stem halves it
     r'^stem_channels=1 is invalid: it must be an integer >= 2$'),
    (Res2Net, dict(depth=50, base_channels=0), r'^base_channels=0 is invalid: .* >= 1$'),
    (FishNet, dict(depth=99, base_channels=12),
     r'^base_channels=12 is invalid: use a multiple of 8'),
    # bottlenecks without channels, or with channels their grouped convolutions cannot split
    (Res2Net, dict(depth=50, base_channels=8, base_width=4),
     r'^base_width=4 with base_channels=8 gives splits of floor\(8 \* 4 / 64\) = 0 channels '
     r'in layer1: use base_width >= 8 or base_channels >= 16$'),
    (ResNeSt, dict(RESNEST, base_width=2),
     r'^base_width=2 with base_channels=16 gives 0 channels per cardinal group in layer1 '
     r'\(int\(16 \* base_width=2 / 64\) = 0\): use base_width >= 4$'),
    (ResNeSt, dict(RESNEST, radix=3),
     r'^radix=3 does not divide the channels per cardinal group of layer1 \(int\(16 \* '
     r'base_width=64 / 64\) = 16\): .* use a radix that divides 16'),
    (ResNeSt, dict(RESNEST, groups=3, base_width=8, radix=1),
     r'^groups=3 does not divide the 32 channels of the attention layer \(fc1\) of layer1: '
     r'.*use groups dividing 32$'),
    (FishNeXt, dict(depth=99, base_channels=16, groups=4, base_width=8),
     r'^base_width=8 with base_channels=16 gives FishNeXt bottlenecks of int\(4 \* 8 / 64\) '
     r'= 0 channels per group .*: use base_width >= 16$'),
    # per-stage settings
    (Res2Net, dict(depth=50, strides=(1, 2, 2)),
     r'^strides=\(1, 2, 2\) is invalid: give 4 integers >= 1, one per stage'),
    (ResNeSt, dict(depth=50, dilations=(1, 1, 2, 0)), r'^dilations=\(1, 1, 2, 0\) is invalid'),
])
def test_invalid_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize('cls,kwargs', [
    (Res2Net, dict(depth=50, base_channels=8, base_width=8)),  # 1-channel splits
    (ResNeSt, dict(RESNEST, radix=4)),
    (ResNeSt, dict(RESNEST, groups=2, base_width=4, radix=1)),
    (FishNeXt, dict(depth=99, base_channels=16, groups=4, base_width=16)),
])
def test_the_limits_of_the_width_checks_build_and_run(cls, kwargs):
    model = cls(**kwargs).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    assert tuple(o.shape[1] for o in outs) == model.out_channels


@pytest.mark.parametrize('cls,kwargs,groups,valid,example', [
    (Res2Net, dict(depth=50, base_channels=16, base_width=32), 3, '1, 2, 4, 8', 'gn1: 64'),
    (ResNeSt, RESNEST, 32, '1, 2, 4, 8, 16', 'stem.1: 16'),
    (FishNet, dict(depth=99, base_channels=16), 16, '1, 2, 4', 'stem.0.gn: 8'),
])
def test_group_norm_that_does_not_divide_a_layer(cls, kwargs, groups, valid, example):
    norm_cfg = dict(type='GN', num_groups=groups, requires_grad=True)
    with pytest.raises(ValueError) as err:
        cls(**kwargs, norm_cfg=norm_cfg)
    message = str(err.value)
    assert message.startswith(f'norm_cfg={norm_cfg!r} does not fit this {cls.__name__}: '
                              f'GroupNorm needs num_groups to divide the channels')
    assert f'num_groups={groups} does not divide the channels of' in message
    assert example in message  # a layer, by its module name, and its channels
    assert message.endswith(f'valid num_groups for this configuration: {valid}')
    largest = int(valid.split(', ')[-1])
    cls(**kwargs, norm_cfg=dict(norm_cfg, num_groups=largest))  # the advice works


# -- inputs ------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def res2net():
    return Res2Net(**RES2NET).eval()


@pytest.fixture(scope='module')
def fishnet():
    return FishNet(**FISHNET).eval()


@pytest.mark.parametrize('x,error,match', [
    ([torch.rand(3, 64, 64)], TypeError,
     r'^Res2Net expects a torch\.Tensor of shape \(N, 3, H, W\), got a list: stack the images '
     r'into one \(N, C, H, W\) tensor$'),
    (np.zeros((1, 3, 64, 64), np.float32), TypeError, r'got a ndarray$'),
    (torch.rand(3, 64, 64), ValueError,
     r'^Res2Net expects a 4-D input \(N, 3, H, W\), got a 3-D tensor of shape \(3, 64, 64\) '
     r'\(one image\? add the batch dimension: x\[None\]\)$'),
    (torch.rand(1, 1, 3, 64, 64), ValueError, r'got a 5-D tensor of shape \(1, 1, 3, 64, 64\)$'),
    (torch.rand(2, 1, 64, 64), ValueError,
     r'^Res2Net was built with in_channels=3, but the input of shape \(2, 1, 64, 64\) has 1 '
     r'channels; expected \(N, 3, H, W\)$'),
    (torch.rand(1, 64, 48, 3), ValueError,
     r'has 64 channels; .* \(channels last\? use x\.permute\(0, 3, 1, 2\)\)$'),
    (torch.rand(1, 3, 0, 64), ValueError,
     r'^Res2Net needs inputs of at least 1x1 pixels \(H, W >= min_size=1\), got H x W = 0x64'),
    (torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8), TypeError,
     r'^Res2Net got an input of dtype torch\.uint8 \(shape \(1, 3, 64, 64\)\): convert images '
     r'to floating point with \.float\(\) and normalise them'),
    (torch.zeros(1, 3, 64, 64, dtype=torch.bool), TypeError, r'dtype torch\.bool .*\.float\(\)'),
    (torch.rand(1, 3, 64, 64, dtype=torch.float16), TypeError,
     r'^Res2Net got an input of dtype torch\.float16, but its weights are torch\.float32: '
     r'convert the input \(x\.to\(torch\.float32\)\) or the model \(model\.to\(torch\.float16\)'
     r'\), or run it under torch\.autocast$'),
], ids=['list', 'numpy', '3-D', '5-D', 'channels', 'channels-last', 'empty', 'uint8', 'bool',
        'float16'])
def test_invalid_inputs(res2net, x, error, match):
    with pytest.raises(error, match=match):
        res2net(x)


def test_fishnet_input_below_its_minimum_size(fishnet):
    with pytest.raises(ValueError, match=r'^FishNet needs inputs of at least 32x32 pixels \(H, '
                                         r'W >= min_size=32\), got H x W = 31x64 \(input shape '
                                         r'\(1, 3, 31, 64\)\)$'):
        fishnet(torch.rand(1, 3, 31, 64))
    with pytest.raises(ValueError, match=r'^FishNet was built with in_channels=3'):
        fishnet(torch.rand(1, 4, 64, 64))


def test_other_in_channels_and_dtypes_are_accepted(res2net):
    model = Res2Net(**RES2NET, in_channels=1).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, 40, 40))[0].shape == (2, 32, 10, 10)
        # under autocast any floating input but float64 is cast by the convolutions
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = res2net(torch.rand(1, 3, 64, 64, dtype=torch.bfloat16))
            assert out[-1].dtype == torch.bfloat16
            with pytest.raises(TypeError, match=r'dtype torch\.float64, .* \(autocast does not '
                                                r'cast float64\)$'):
                res2net(torch.rand(1, 3, 64, 64, dtype=torch.float64))
        double = Res2Net(**RES2NET).eval().double()
        assert double(torch.rand(1, 3, 64, 64, dtype=torch.float64))[0].dtype == torch.float64


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(deep_stem=True, avg_down=True, stem_channels=16),
    dict(strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),  # output stride 16
    dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), deep_stem=True, avg_down=True,
         stem_channels=16),  # output stride 8
], ids=['os32', 'v1b', 'os16', 'os8-v1b'])
@pytest.mark.parametrize('cls', [Res2Net, ResNeSt])
def test_resnet_like_minimum_size_is_one_pixel(cls, kwargs):
    """Every stride-s layer of the ResNet skeleton gives ceil(size / s), so even a 1x1 input
    gives all four levels (1x1) with any strides, dilations and stem."""
    model = cls(depth=50, base_channels=8, **kwargs).eval()
    assert model.min_size == 1
    with torch.no_grad():
        for size in [(1, 1), (1, 5)]:
            outs = model(torch.rand(1, 3, *size))
            assert [tuple(o.shape[-2:]) for o in outs] == [
                (1, -(-size[1] // i['reduction'])) for i in model.feature_info]


def test_fishnet_minimum_size_works(fishnet):
    with torch.no_grad():
        outs = fishnet(torch.rand(1, 3, 32, 33))
    assert [tuple(o.shape[-2:]) for o in outs] == [(8, 9), (4, 4), (2, 2), (1, 1)]


# -- the check is invisible to torch.compile and ONNX export ---------------------------------
@pytest.mark.parametrize('name', ['res2net', 'fishnet'])
def test_no_graph_break_under_torch_compile(name, request):
    import torch._dynamo
    model = request.getfixturevalue(name)
    x = torch.rand(1, 3, 64, 64)
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_count == 1 and explanation.graph_break_count == 0, \
        explanation.break_reasons
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend='eager')
    with torch.no_grad():
        for a, b in zip(compiled(x), model(x)):
            torch.testing.assert_close(a, b)
    torch._dynamo.reset()


@pytest.mark.parametrize('dynamo', [False, True], ids=['torchscript', 'dynamo'])
def test_onnx_export(res2net, tmp_path, dynamo):
    onnx = pytest.importorskip('onnx')
    if dynamo:
        pytest.importorskip('onnxscript')
    path = tmp_path / 'res2net.onnx'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        torch.onnx.export(res2net, (torch.rand(1, 3, 64, 64), ), str(path), dynamo=dynamo)
    assert not [w for w in caught if 'mmfish' in w.filename], 'the input check warns in tracing'
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    assert len(graph.graph.output) == 4
