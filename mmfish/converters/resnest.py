"""ResNeSt checkpoints: official, timm (``resnest*d``), mmdet, mmseg and mmpretrain."""
from ..models.backbones.resnest import ResNeSt
from . import resnet_like
from .resnet_like import LAYOUTS, detect_skeleton

FAMILY = 'ResNeSt'
MODEL = ResNeSt
#: not visible in the weights (pools have none); every released ResNeSt uses these
NOTE = 'avd=True, avd_first=False assumed: they leave no trace in the weights'
__all__ = ['FAMILY', 'MODEL', 'LAYOUTS', 'to_mmfish_keys', 'detect']


def to_mmfish_keys(state, source):
    return resnet_like.to_mmfish_keys(state, source, FAMILY)


def detect(state, source):
    cfg = detect_skeleton(state, ResNeSt.arch_settings, source, FAMILY)
    width = state['backbone.layer1.0.conv1.weight'].shape[0]
    split_conv = state['backbone.layer1.0.conv2.conv.weight']
    radix = split_conv.shape[0] // width
    groups = width // (split_conv.shape[1] * radix)
    last_width = state['backbone.layer4.0.conv1.weight'].shape[0]
    hidden = state['backbone.layer4.0.conv2.fc1.weight'].shape[0]
    base = cfg.get('base_channels', 64)
    cfg.update(radix=radix, groups=groups, base_width=(width // groups) * 64 // base,
               reduction_factor=max(last_width * radix // hidden, 1))
    return cfg
