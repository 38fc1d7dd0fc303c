import pytest
import torch

from mmfish.models import Res2Net, ResNeSt


@pytest.mark.parametrize('cls,kwargs', [
    (Res2Net, dict(depth=50, base_channels=16, base_width=26)),
    (Res2Net, dict(depth=50, base_channels=16, deep_stem=True, avg_down=True, stem_channels=32)),
    (ResNeSt, dict(depth=50, base_channels=16, stem_channels=32)),
])
def test_output_stride_8(cls, kwargs):
    model = cls(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), **kwargs).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [16, 8, 8, 8]
    assert [i['reduction'] for i in model.feature_info] == [4, 8, 8, 8]
    # the first block of a dilated stage uses half the dilation (contract_dilation)
    for layer, dilation in ((model.layer3, 2), (model.layer4, 4)):
        conv = layer[0].convs[0] if cls is Res2Net else layer[0].conv2.conv
        assert conv.dilation == (dilation // 2, ) * 2 and conv.stride == (1, 1)
        conv = layer[1].convs[0] if cls is Res2Net else layer[1].conv2.conv
        assert conv.dilation == (dilation, ) * 2


def test_contract_dilation_off():
    model = ResNeSt(depth=50, base_channels=16, stem_channels=32, strides=(1, 2, 1, 1),
                    dilations=(1, 1, 2, 4), contract_dilation=False)
    assert model.layer4[0].conv2.conv.dilation == (4, 4)
