"""Res2Net checkpoints: official (v1, Res2NeXt, v1b), timm, mmdet, mmseg and mmpretrain."""
from ..models.backbones.res2net import Res2Net
from . import resnet_like
from .resnet_like import LAYOUTS, detect_skeleton

FAMILY = 'Res2Net'
MODEL = Res2Net
__all__ = ['FAMILY', 'MODEL', 'LAYOUTS', 'to_mmfish_keys', 'detect']


def to_mmfish_keys(state, source):
    return resnet_like.to_mmfish_keys(state, source, FAMILY)


def detect(state, source):
    cfg = detect_skeleton(state, Res2Net.arch_settings, source, FAMILY)
    split_conv = state['backbone.layer1.0.convs.0.weight']
    width = split_conv.shape[0]
    groups = width // split_conv.shape[1]
    scales = state['backbone.layer1.0.conv1.weight'].shape[0] // width
    base = cfg.get('base_channels', 64)
    cfg.update(scales=scales, base_width=(width // groups) * 64 // base, groups=groups)
    return cfg
