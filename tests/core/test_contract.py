"""mmdet's ResNet contract on mmfish's backbones: ``dcn`` / ``stage_with_dcn`` (mmcv's DCN and
DCNv2, which run on CPU in mmcv 2.1), ``plugins``, ``style``, ``num_stages``, ``pretrained``,
and the clear error of ResNeSt's attention norm with one image per GPU."""
import copy
import warnings

import pytest
import torch
from mmcv.cnn import ContextBlock
from mmcv.ops import DeformConv2dPack, ModulatedDeformConv2dPack

from mmfish.models import FishNet, Res2Net, Res2NetDLA, ResNeSt
from mmfish.testing import max_rel_error, randomize_norms

from tests.conftest import build_in_scope

SMALL = {ResNeSt: dict(depth=50, base_channels=16, stem_channels=16),
         Res2Net: dict(depth=50, base_channels=16, stem_channels=16),
         FishNet: dict(depth=99, base_channels=8)}
DCN_CLASS = {'DCN': DeformConv2dPack, 'DCNv2': ModulatedDeformConv2dPack}
STAGES = (False, True, False, True)
CONTEXT = dict(cfg=dict(type='ContextBlock', ratio=1. / 4), stages=(True, False, True, False),
               position='after_conv3')


def _levels(cls, model):
    """``{stage or pyramid level: [blocks]}``: ResNet stages, or FishNet's blocks by the
    pyramid level they run at (FishNet's docstring)."""
    if cls is not FishNet:
        return {i: list(getattr(model, f'layer{i + 1}')) for i in range(4)}
    levels = {i: [] for i in range(4)}
    for i in range(3):
        levels[i] += list(model.tail[i].blocks)
        levels[i] += list(model.head[i].blocks)
        levels[3 - i] += list(model.body[i].blocks)
        levels[2 - i] += list(model.body[i].transfer)
    levels[3] += list(model.bridge.blocks)
    for i in range(1, 3):
        levels[i + 1] += list(model.head[i].transfer)
    levels[1] += list(model.head[0].transfer)
    return levels


def _three_by_three(cls, block):
    if cls is ResNeSt:
        return [block.conv2.conv]
    if cls is Res2Net:
        return list(block.convs)
    return [block.conv2.conv]


@pytest.mark.parametrize('dcn_type', ['DCN', 'DCNv2'])
@pytest.mark.parametrize('cls', [ResNeSt, Res2Net, FishNet])
def test_dcn_and_plugins_only_in_the_stages_asked_and_train(cls, dcn_type):
    model = cls(**SMALL[cls], dcn=dict(type=dcn_type, deform_groups=1),
                stage_with_dcn=STAGES, plugins=[CONTEXT])
    model.init_weights()
    levels = _levels(cls, model)
    assert sum(len(b) for b in levels.values()) == sum(
        1 for m in model.modules() if type(m).__name__.endswith(('Bottleneck', 'Bottle2neck',
                                                                 'FishBlock')))
    for i, blocks in levels.items():
        for block in blocks:
            for conv in _three_by_three(cls, block):
                assert isinstance(conv, DCN_CLASS[dcn_type]) == STAGES[i], (i, block)
                if STAGES[i]:  # deformable convolutions start as regular ones
                    assert not conv.conv_offset.weight.any()
            assert isinstance(getattr(block, 'context_block', None), ContextBlock) == \
                CONTEXT['stages'][i]
    assert not any(isinstance(m, (DeformConv2dPack, ModulatedDeformConv2dPack))
                   for m in model.modules() if not any(
                       m is c for blocks in levels.values() for b in blocks
                       for c in _three_by_three(cls, b)))
    model.train()
    outs = model(torch.rand(2, 3, 32, 32))
    sum(o.mean() for o in outs).backward()
    offsets = [p for n, p in model.named_parameters() if 'conv_offset' in n]
    assert offsets and all(p.grad is not None for p in offsets)
    plugin = [p for n, p in model.named_parameters() if 'context_block' in n]
    assert plugin and all(p.grad is not None for p in plugin)


@pytest.mark.parametrize('cls', [ResNeSt, Res2Net, FishNet])
def test_dcn_and_plugins_with_cp_frozen_stages_norm_eval_channels_last(cls):
    kwargs = dict(SMALL[cls], dcn=dict(type='DCNv2'), stage_with_dcn=(True, True, True, True),
                  plugins=[dict(CONTEXT, stages=None)])
    torch.manual_seed(0)
    model = cls(**kwargs, with_cp=True, frozen_stages=1, norm_eval=True, channels_last=True)
    randomize_norms(model, seed=0)
    with torch.no_grad():  # deformed sampling and a plugin that changes the features
        for name, p in model.named_parameters():
            if 'conv_offset' in name or 'context_block' in name:
                p.normal_(std=0.1)
    model.train()
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    outs = model(x)
    sum(o.mean() for o in outs).backward()
    frozen = [p for m in model.stage_modules()[:2] for p in m.parameters()]
    assert frozen and all(not p.requires_grad and p.grad is None for p in frozen)
    trained = [p for n, p in model.named_parameters() if p.requires_grad]
    assert all(p.grad is not None for p in trained)
    assert not any(m.training for m in model.modules()
                   if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    # channels-last and NCHW compute the same with deformable convolutions
    nchw = cls(**kwargs, channels_last=False).eval()
    nchw.load_state_dict(model.state_dict())
    model.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), nchw(x)):
            assert max_rel_error(a, b) < 1e-5
    # the kernels stay NCHW in a channels-last model (mmcv's kernels read NCHW memory)
    dcn = next(m for m in model.modules() if isinstance(m, ModulatedDeformConv2dPack))
    assert dcn.weight.is_contiguous()
    copy.deepcopy(model)  # the NCHW-safe layer classes copy (and pickle)


def test_built_as_mmfish_type_in_mmdet_scope():
    model = build_in_scope('mmdet', dict(
        type='mmfish.ResNeSt', **SMALL[ResNeSt], dcn=dict(type='DCN', deform_groups=1,
                                                          fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True), style='pytorch', num_stages=4,
        plugins=[dict(cfg=dict(type='ContextBlock', ratio=1. / 16),
                      stages=(False, True, True, True), position='after_conv3')]))
    assert isinstance(model, ResNeSt)
    assert isinstance(model.layer4[0].conv2.conv, DeformConv2dPack)
    assert isinstance(model.layer4[2].context_block, ContextBlock)
    assert not isinstance(model.layer1[0].conv2.conv, DeformConv2dPack)


def test_fallback_on_stride_keeps_strided_convs_regular():
    model = Res2Net(**SMALL[Res2Net], dcn=dict(type='DCN', fallback_on_stride=True),
                    stage_with_dcn=(False, True, True, True))
    assert not isinstance(model.layer2[0].convs[0], DeformConv2dPack)  # stride 2
    assert isinstance(model.layer2[1].convs[0], DeformConv2dPack)
    resnest = ResNeSt(**SMALL[ResNeSt], dcn=dict(type='DCN', fallback_on_stride=True),
                      stage_with_dcn=(False, True, True, True))
    # with avd the split-attention conv never strides (the pool does)
    assert isinstance(resnest.layer2[0].conv2.conv, DeformConv2dPack)


def test_pretrained_is_deprecated_and_becomes_init_cfg():
    with pytest.warns(DeprecationWarning, match="init_cfg=dict\\(type='Pretrained'"):
        model = ResNeSt(**SMALL[ResNeSt], pretrained='ckpt.pth')
    assert model.init_cfg == dict(type='Pretrained', checkpoint='ckpt.pth')
    with pytest.raises(ValueError, match='were both given'):
        FishNet(**SMALL[FishNet], pretrained='a.pth',
                init_cfg=dict(type='Pretrained', checkpoint='b.pth'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        Res2Net(**SMALL[Res2Net], pretrained=None, style='pytorch', num_stages=4)


@pytest.mark.parametrize('cls', [ResNeSt, Res2Net, FishNet])
@pytest.mark.parametrize('kwargs,match', [
    (dict(style='caffe'), r"style='caffe' is not supported by \w+: .*stride.*valid: 'pytorch'"),
    (dict(num_stages=3), r'num_stages=3 is not supported .*valid: 4.*out_indices'),
    (dict(pretrained=3), r'pretrained=3 is invalid'),
    (dict(dcn=dict(type='DCNv3')), r"unknown deformable convolution type 'DCNv3'; valid "
                                   r'types: DCN, DCNv2'),
    (dict(dcn='DCN'), r"dcn='DCN' is invalid: give a dict"),
    (dict(dcn=dict(type='DCN', groups=2)), r'unknown key groups; valid keys: type, '
                                           r'deform_groups, fallback_on_stride'),
    (dict(dcn=dict(type='DCN'), stage_with_dcn=(True, True, True)),
     r'stage_with_dcn=\(True, True, True\) is invalid: give 4 bools'),
    (dict(dcn=dict(type='DCN'), stage_with_dcn=(True, ) * 4, conv_cfg=dict(type='Conv2d')),
     r'with conv_cfg=.*give one of them'),
    (dict(plugins=[dict(cfg=dict(type='ContextBlock', ratio=.25), position='after_conv4')]),
     r"position='after_conv4' is invalid; valid positions: after_conv1, after_conv2, "
     r'after_conv3'),
    (dict(plugins=[dict(cfg=dict(type='ContextBlok'), position='after_conv3')]),
     r"unknown plugin layer type 'ContextBlok'"),
    (dict(plugins=[dict(cfg=dict(type='ContextBlock', ratio=.25), position='after_conv3',
                        stages=(True, ))]), r'stages=\(True,\) is invalid: give 4 bools'),
    (dict(plugins=[dict(cfg=dict(type='ContextBlock', ratio=.25), position='after_conv3')] * 2),
     r"would both be named 'context_block'.*postfix"),
])
def test_contract_arguments_are_checked_clearly(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**SMALL[cls], **kwargs)


def test_fishnet_stage_with_dcn_names_the_pyramid_levels():
    with pytest.raises(ValueError, match=r'give 4 bools, one per pyramid level \(stride 4, 8, '
                                         r'16, 32\)'):
        FishNet(**SMALL[FishNet], dcn=dict(type='DCN'), stage_with_dcn=(True, ) * 10)


def test_res2net_dla_still_refuses_and_names_the_backbones_that_take_it():
    with pytest.raises(ValueError, match=r"'dcn' .*deformable convolutions are not supported "
                                         r'by Res2NetDLA; Res2Net, ResNeSt, FishNet take it'):
        Res2NetDLA(depth=60, dcn=dict(type='DCN'))


# -- one image per GPU: ResNeSt's attention norm ---------------------------------------------
def test_resnest50_bn_one_image_names_the_attention_norm_and_the_remedies():
    model = ResNeSt(depth=50).train()
    with pytest.raises(ValueError) as info:
        model(torch.rand(1, 3, 64, 64))
    message = str(info.value)
    assert message.startswith('ResNeSt: the norm layer layer1.0.conv2.bn1 (BatchNorm2d) cannot '
                              'normalise in training')
    for part in ('one value per channel and image', 'SyncBN across several GPUs',
                 "attention_norm_cfg=dict(type='GN'", 'two or more images per GPU',
                 'got input size torch.Size([1, 32, 1, 1])'):
        assert part in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_resnest_group_norm_attention_trains_on_one_image():
    model = ResNeSt(**SMALL[ResNeSt], attention_norm_cfg=dict(type='GN', num_groups=8),
                    with_cp=True).train()
    attention = model.layer1[0].conv2
    assert attention.norm1_name == 'gn1'  # mmcv's name of a GroupNorm layer
    assert isinstance(attention.gn1, torch.nn.GroupNorm)
    assert isinstance(attention.bn0, torch.nn.BatchNorm2d)
    outs = model(torch.rand(1, 3, 64, 64))
    sum(o.mean() for o in outs).backward()
    assert attention.gn1.weight.grad is not None


def test_attention_norm_cfg_group_count_is_checked():
    with pytest.raises(ValueError, match=r'num_groups=7 does not divide the channels of the '
                                         r'attention norms .*valid num_groups: 1, 2, 4, 8, 16, 32'):
        ResNeSt(**SMALL[ResNeSt], attention_norm_cfg=dict(type='GN', num_groups=7))


def test_one_value_per_channel_elsewhere_names_the_layer():
    model = FishNet(**SMALL[FishNet]).train()  # 32x32: the stride-32 level is 1x1
    with pytest.raises(ValueError, match=r'^FishNet: the norm layer \S+ \(BatchNorm2d\) cannot '
                                         r'normalise in training: its input has one value per '
                                         r'channel: one image \(batch 1\)'):
        model(torch.rand(1, 3, 32, 32))
