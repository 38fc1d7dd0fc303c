"""Property-based tests: random valid configurations of every family, on random input sizes
from the backbone's ``min_size`` to 512 (H and W drawn independently), build, run and give
the documented pyramid:

* ``len(outputs) == len(out_indices)`` and ``out_channels`` are the outputs' channels;
* ResNet-like (Res2Net, ResNeSt): level ``i`` has ``base_channels * 2**i * 4`` channels,
  ``feature_info[i]['reduction'] = r = 4 * strides[0] * ... * strides[i]`` and the size
  ``ceil(H / r) x ceil(W / r)``;
* FishNet / FishNeXt: level ``i`` has ``(320, 832, 1600, 2112)[i] * base_channels / 64``
  channels, reduction ``4 * 2**i`` and the size ``floor(ceil(H / 4) / 2**i)`` (and the same
  for W).

Small widths (``base_channels`` 8 or 16), eval mode, no gradients and a fixed number of
derandomised examples keep it fast and reproducible.
"""
import math

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmfish.models import FishNet, FishNeXt, Res2Net, ResNeSt

#: strides and dilations for output strides 32, 16 and 8
OUTPUT_STRIDES = {
    32: ((1, 2, 2, 2), (1, 1, 1, 1)),
    16: ((1, 2, 2, 1), (1, 1, 1, 2)),
    8: ((1, 2, 1, 1), (1, 1, 2, 4)),
}
FISHNET_CHANNELS = (320, 832, 1600, 2112)  # for base_channels=64
MAX_SIZE = 512

SETTINGS = settings(derandomize=True, max_examples=20, deadline=None, database=None,
                    print_blob=True, suppress_health_check=[HealthCheck.too_slow,
                                                            HealthCheck.data_too_large])

out_indices = st.sets(st.integers(0, 3), min_size=1).map(lambda s: tuple(sorted(s)))
norm_cfg = st.sampled_from([dict(type='BN', requires_grad=True),
                            dict(type='GN', num_groups=1, requires_grad=True)])


@st.composite
def resnet_common(draw):
    """Arguments of the ResNet skeleton that every Res2Net and ResNeSt takes."""
    strides, dilations = OUTPUT_STRIDES[draw(st.sampled_from(sorted(OUTPUT_STRIDES)))]
    deep_stem = draw(st.booleans())
    return dict(base_channels=draw(st.sampled_from([8, 16])),
                stem_channels=draw(st.sampled_from([8, 16, 32])),
                strides=strides, dilations=dilations,
                contract_dilation=draw(st.booleans()), deep_stem=deep_stem,
                avg_down=draw(st.booleans()), out_indices=draw(out_indices),
                norm_cfg=draw(norm_cfg))


#: at most this many bottleneck channels in layer1 (8x in layer4), to keep examples fast
MAX_WIDTH = 48


@st.composite
def res2net_args(draw):
    args = draw(resnet_common())
    base = args['base_channels']
    scales, groups = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    # channels of one split per group in layer1, floor(base * base_width / 64): at least 1;
    # any base_width of the same floor gives it
    split = draw(st.integers(1, max(1, MAX_WIDTH // (scales * groups))))
    base_width = split * 64 // base + draw(st.integers(0, 64 // base - 1))
    args.update(depth=draw(st.sampled_from(sorted(Res2Net.arch_settings))), scales=scales,
                groups=groups, base_width=base_width)
    return args


@st.composite
def resnest_args(draw):
    args = draw(resnet_common())
    base = args['base_channels']
    radix, groups = draw(st.sampled_from([1, 2, 4])), draw(st.sampled_from([1, 2, 4]))
    reduction_factor = draw(st.sampled_from([1, 2, 4]))
    # channels per cardinal group in layer1: a multiple of radix; base_width gives it exactly
    per_group = radix * draw(st.integers(1, max(1, MAX_WIDTH // (radix * radix * groups))))
    base_width = per_group * 64 // base
    width = per_group * groups
    # the attention's hidden layer must split into the cardinal groups
    hidden = max(width * radix // reduction_factor, 32)
    if hidden % groups:
        groups = 1
    args.update(depth=draw(st.sampled_from(sorted(ResNeSt.arch_settings))), radix=radix,
                groups=groups, base_width=base_width, reduction_factor=reduction_factor,
                avd=draw(st.booleans()), avd_first=draw(st.booleans()))
    return args


@st.composite
def fishnet_args(draw):
    base = draw(st.sampled_from([8, 16]))
    args = dict(depth=draw(st.sampled_from(sorted(FishNet.arch_settings))), base_channels=base,
                out_indices=draw(out_indices), norm_cfg=draw(norm_cfg))
    if draw(st.booleans()):  # FishNeXt: the narrowest blocks (base_channels wide) need a
        args.update(type=FishNeXt, groups=draw(st.integers(2, 8)),  # channel per group
                    base_width=draw(st.integers(math.ceil(256 / base), 32)))
    return args


def inputs(min_size):
    return st.tuples(st.integers(1, 2), st.integers(min_size, MAX_SIZE),
                     st.integers(min_size, MAX_SIZE))


def _run(model, shape):
    with torch.no_grad():
        outs = model(torch.rand(shape))
    assert len(outs) == len(model.out_indices)
    assert model.out_channels == tuple(model.feature_info[i]['num_chs']
                                       for i in model.out_indices)
    assert all(o.isfinite().all() for o in outs)
    return outs


def _check_resnet_like(cls, args, shape):
    model = cls(**args).eval()
    n, h, w = shape
    outs = _run(model, (n, 3, h, w))
    reduction = 4
    for i, info in enumerate(model.feature_info):
        reduction *= args['strides'][i]
        assert info['reduction'] == reduction
        assert info['num_chs'] == args['base_channels'] * 2**i * 4
    for out, i in zip(outs, model.out_indices):
        r = model.feature_info[i]['reduction']
        assert out.shape == (n, model.feature_info[i]['num_chs'], -(-h // r), -(-w // r))


@SETTINGS
@given(args=res2net_args(), shape=inputs(Res2Net.min_size))
def test_res2net_pyramid(args, shape):
    _check_resnet_like(Res2Net, args, shape)


@SETTINGS
@given(args=resnest_args(), shape=inputs(ResNeSt.min_size))
def test_resnest_pyramid(args, shape):
    _check_resnet_like(ResNeSt, args, shape)


@SETTINGS
@given(args=fishnet_args(), shape=inputs(FishNet.min_size))
def test_fishnet_pyramid(args, shape):
    args = dict(args)
    model = args.pop('type', FishNet)(**args).eval()
    n, h, w = shape
    outs = _run(model, (n, 3, h, w))
    for i, info in enumerate(model.feature_info):
        assert info['reduction'] == 4 * 2**i
        assert info['num_chs'] == FISHNET_CHANNELS[i] * args['base_channels'] // 64
    for out, i in zip(outs, model.out_indices):
        size = [-(-side // 4) // 2**i for side in (h, w)]
        assert out.shape == (n, model.feature_info[i]['num_chs'], *size)
