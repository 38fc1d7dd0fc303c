import pytest
import torch
import torch.nn.functional as F

from mmfish.families.fishnet import model as fishnet_module
from mmfish.models import FishNet


def _expected_sizes(h):
    s = (h - 1) // 2 + 1  # stem conv, stride 2
    s = (s - 1) // 2 + 1  # max-pool 3x3, stride 2
    return [s, s // 2, s // 4, s // 8]


@pytest.mark.parametrize('size', [(32, 32), (33, 47), (45, 45), (97, 64), (100, 123)])
def test_any_input_size_from_32(size):
    model = FishNet(depth=99, base_channels=16).eval()
    outs = model(torch.rand(1, 3, *size))
    hs, ws = _expected_sizes(size[0]), _expected_sizes(size[1])
    assert [tuple(o.shape[-2:]) for o in outs] == list(zip(hs, ws))


def test_multiples_of_32_equal_the_strict_version(monkeypatch):
    """The official body up-samples with nn.Upsample(scale_factor=2); on inputs whose sides
    are multiples of 32, up-sampling to the lateral's size must give the same result."""
    model = FishNet(depth=150, base_channels=16).eval()
    x = torch.rand(2, 3, 96, 64)
    ours = model(x)
    calls = []
    interpolate = F.interpolate

    def strict_interpolate(t, size=None, mode='nearest', **kwargs):
        calls.append(size)
        assert tuple(size) == (2 * t.shape[-2], 2 * t.shape[-1])
        return interpolate(t, scale_factor=2, mode=mode)

    monkeypatch.setattr(fishnet_module.F, 'interpolate', strict_interpolate)
    strict = model(x)
    assert len(calls) == 3
    for a, b in zip(ours, strict):
        assert torch.equal(a, b)


def test_ur_block_squeezes_adjacent_channels():
    """The first UR-block of a body stage has no 1x1 shortcut: its identity is the sum of
    each group of k adjacent channels (k = in / out)."""
    model = FishNet(depth=99)
    first = model.body[1].blocks[0]
    assert first.shortcut is None and first.squeeze == 2
    assert [stage.blocks[1 if len(stage.blocks) > 1 else 0].conv2.conv.dilation
            for stage in model.body] == [(1, 1), (2, 2), (4, 4)]
    block = fishnet_module.FishBlock(8, 4, squeeze=2).eval()
    block.conv3.conv.weight.data.zero_()  # leave only the shortcut
    out = block(torch.arange(8.).view(1, 8, 1, 1).repeat(1, 1, 3, 3))
    assert out[0, :, 0, 0].tolist() == [1., 5., 9., 13.]


def test_fishnet_too_small_input_fails_clearly():
    model = FishNet(depth=99, base_channels=16).eval()
    with pytest.raises(Exception):
        model(torch.rand(1, 3, 8, 8))
