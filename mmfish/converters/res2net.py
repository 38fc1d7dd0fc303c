"""Res2Net checkpoints: official (v1, Res2NeXt, v1b), timm, mmdet, mmseg, mmpretrain and
PaddleClas (Res2Net_vd ``.pdparams``)."""
import re
from collections import OrderedDict

from ..models.backbones.res2net import Res2Net
from . import resnet_like
from .common import fail_unplaced, rename
from .resnet_like import detect_skeleton

FAMILY = 'Res2Net'
MODEL = Res2Net
PADDLE_LAYOUT = ('PaddleClas Res2Net_vd .pdparams (conv1_1._conv.*, bb_<stage>_<block>.*, '
                 'out.*; or the parameter names conv1_1_weights, bn2a_branch2a_scale, ..., '
                 'fc_weights)')
LAYOUTS = resnet_like.LAYOUTS + (PADDLE_LAYOUT, )
__all__ = ['FAMILY', 'MODEL', 'LAYOUTS', 'to_mmfish_keys', 'detect']


# -- PaddleClas (ppcls/arch/backbone/model_zoo/res2net_vd.py) --------------------------------
#: a ConvBNLayer's norm: paddle.nn.BatchNorm's state-dict names, and its parameter names
_PADDLE_BN = {'weight': 'weight', 'bias': 'bias', '_mean': 'running_mean',
              '_variance': 'running_var', 'scale': 'weight', 'offset': 'bias',
              'mean': 'running_mean', 'variance': 'running_var'}
#: the parts of a BottleneckBlock: branch2a / conv0, branch2b_<s> (a split), branch2c / conv2,
#: branch1 / short (the shortcut: avg pool, conv, norm)
_PADDLE_PART = {'conv0': ('conv1', 'bn1'), 'branch2a': ('conv1', 'bn1'),
                'conv2': ('conv3', 'bn3'), 'branch2c': ('conv3', 'bn3'),
                'short': ('downsample.1', 'downsample.2'),
                'branch1': ('downsample.1', 'downsample.2')}
_PADDLE_MARKER = re.compile(r'^(conv1_1\._conv\.|conv1_1_weights$|bb_\d+_\d+\.conv0\._conv\.|'
                            r'res2a_branch2a_weights$)')


def _paddle_is_conv(g: dict) -> bool:
    return bool(g.get('conv')) or g.get('leaf') == 'weights'


def _paddle_stem(m):
    g = m.groupdict()
    index = 3 * (int(g['n']) - 1)  # conv1_1, conv1_2, conv1_3: stem.0, stem.3, stem.6
    if _paddle_is_conv(g):
        return f'backbone.stem.{index}.weight'
    return f'backbone.stem.{index + 1}.{_PADDLE_BN[g["leaf"]]}'


def _paddle_block(m):
    g = m.groupdict()
    if g.get('bb_stage') is not None:  # bb_<stage>_<block>
        stage, block = int(g['bb_stage']), int(g['bb_block'])
    else:  # res<stage + 2><a, b, c, ...>, in a deep stage res<stage + 2><a, b1, b2, ...>
        stage = int(g['stage']) - 2
        block = int(g['num']) if g['num'] else ord(g['letter']) - ord('a')
    if g.get('split'):
        conv, norm = f'convs.{int(g["split"]) - 1}', f'bns.{int(g["split"]) - 1}'
    else:
        conv, norm = _PADDLE_PART[g['part']]
    prefix = f'backbone.layer{stage + 1}.{block}.'
    if _paddle_is_conv(g):
        return f'{prefix}{conv}.weight'
    return f'{prefix}{norm}.{_PADDLE_BN[g["leaf"]]}'


_BLOCK = r'(?P<stage>\d)(?P<letter>[a-z])(?P<num>\d*)_(?:branch2b_(?P<split>\d+)|' \
    r'(?P<part>branch2a|branch2c|branch1))'
PADDLE_RULES = [
    # state-dict names (paddle.save(model.state_dict()): the released .pdparams)
    (r'^conv1_(?P<n>[123])\.(?:(?P<conv>_conv)\.weight|_batch_norm\.'
     r'(?P<leaf>weight|bias|_mean|_variance))$', _paddle_stem),
    (r'^bb_(?P<bb_stage>\d+)_(?P<bb_block>\d+)\.(?:res\w+_branch2b_(?P<split>\d+)|'
     r'(?P<part>conv0|conv2|short))\.(?:(?P<conv>_conv)\.weight|_batch_norm\.'
     r'(?P<leaf>weight|bias|_mean|_variance))$', _paddle_block),
    (r'^out\.(weight|bias)$', r'head.fc.\1'),
    # parameter names (the static-graph release; Paddle keeps them beside the keys)
    (r'^conv1_(?P<n>[123])_(?P<leaf>weights)$', _paddle_stem),
    (r'^bnv1_(?P<n>[123])_(?P<leaf>scale|offset|mean|variance)$', _paddle_stem),
    (r'^res' + _BLOCK + r'_(?P<leaf>weights)$', _paddle_block),
    (r'^bn' + _BLOCK + r'_(?P<leaf>scale|offset|mean|variance)$', _paddle_block),
    (r'^fc_weights$', 'head.fc.weight'),
    (r'^fc_offset$', 'head.fc.bias'),
]


def is_paddle_layout(state) -> bool:
    """Whether the keys are PaddleClas Res2Net_vd's (state-dict or parameter names)."""
    return any(_PADDLE_MARKER.match(k) for k in state)


def paddle_to_mmfish_keys(state, source):
    """Rename a PaddleClas Res2Net_vd state dict; ``paddle.nn.Linear`` keeps its weight as
    (in, out), so the classifier's is transposed."""
    out, unplaced, dropped = rename(state, PADDLE_RULES)
    fail_unplaced(unplaced, source, FAMILY, '; '.join(LAYOUTS))
    if 'head.fc.weight' in out:
        out['head.fc.weight'] = out['head.fc.weight'].t().contiguous()
    return OrderedDict(out), 'paddle', dropped


def to_mmfish_keys(state, source):
    if is_paddle_layout(state):
        return paddle_to_mmfish_keys(state, source)
    return resnet_like.to_mmfish_keys(state, source, FAMILY)


def detect(state, source, layout=None, dcn_type=None):
    cfg = detect_skeleton(state, Res2Net.arch_settings, source, FAMILY)
    if layout == 'paddle':  # PaddleClas' Res2Net_vd splits its blocks in its own way
        cfg['split_style'] = 'paddle'
    split_conv = state['backbone.layer1.0.convs.0.weight']
    width = split_conv.shape[0]
    groups = width // split_conv.shape[1]
    scales = state['backbone.layer1.0.conv1.weight'].shape[0] // width
    base = cfg.get('base_channels', 64)
    cfg.update(scales=scales, base_width=(width // groups) * 64 // base, groups=groups)
    # mmdet's deformable split convs and plugin layers (their keys show them)
    cfg.update(resnet_like.detect_dcn(state, r'convs\.\d+', source, dcn_type))
    cfg.update(resnet_like.detect_plugins(state, source))
    return cfg
