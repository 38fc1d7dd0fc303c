"""Res2Net checkpoints: official (v1, Res2NeXt, v1b), timm, mmdet, mmseg, mmpretrain and
PaddleClas (Res2Net_vd ``.pdparams``)."""
import re
from collections import OrderedDict
from typing import List, Sequence, Tuple

from ...checkpoint.io import ConversionError
from ...core import resnet_keymap
from ...core.family import minimal
from ...core.keymap import fail_unplaced, rename
from ...core.resnet_keymap import detect_skeleton
from .model import Res2Net

PADDLE_LAYOUT = ('PaddleClas Res2Net_vd .pdparams (conv1_1._conv.*, bb_<stage>_<block>.*, '
                 'out.*; or the parameter names conv1_1_weights, bn2a_branch2a_scale, ..., '
                 'fc_weights)')
LAYOUTS = resnet_keymap.LAYOUTS + (PADDLE_LAYOUT, )
__all__ = ['to_mmfish_keys', 'detect', 'check_custom', 'stem_problems',
           'from_config', 'from_layout']


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
    fail_unplaced(unplaced, source, Res2Net.__name__, '; '.join(LAYOUTS))
    if 'head.fc.weight' in out:
        out['head.fc.weight'] = out['head.fc.weight'].t().contiguous()
    return OrderedDict(out), 'paddle', dropped


# -- split_style: the weights cannot show it (pools have none), the layout mostly does -------
#: the hidden argument and its values (:class:`~mmfish.families.res2net.model.Bottle2neck`)
HIDDEN = ('split_style', )
#: mmpretrain's Res2Net: its deep stem is three ConvModules (``stem.<i>.conv``), and its 7x7
#: stem (deep_stem=False) is one mmdet's Res2Net never has
MMPRETRAIN = 'openmmlab (mmpretrain: stem.<i>.conv / conv1, which mmdet\'s Res2Net never has)'
_MMPRETRAIN_STEM = re.compile(r'^(backbone\.)?(stem\.\d+\.conv\.|conv1\.weight$)')
#: where the layout leaves split_style open (mmdet's and mmfish's Res2Net share these keys)
SHARED_LAYOUT = (
    "the layout is mmdet's Res2Net's (deep stem stem.0 .. stem.7), which leaves out the "
    "average pool of the last split in layer1's first block (split_style='mmdet'), and "
    "mmfish's, which applies it by default (split_style='official', as the official code, "
    "timm and mmpretrain do)")


def to_mmfish_keys(state, source):
    if is_paddle_layout(state):
        return paddle_to_mmfish_keys(state, source)
    out, layout, dropped = resnet_keymap.to_mmfish_keys(state, source, Res2Net.__name__)
    if layout in (resnet_keymap.OPENMMLAB, resnet_keymap.OPENMMLAB_BARE) and \
            any(_MMPRETRAIN_STEM.match(k) for k in state):
        layout = MMPRETRAIN
    return out, layout, dropped


def from_layout(layout):
    """``{'split_style': (value, how)}`` as the key layout fixes it; the value is None where
    two implementations that split differently share the layout (refused unless the file's
    config, mmfish's record or ``--split-style`` says it)."""
    if layout == 'paddle':
        return dict(split_style=('paddle', "the PaddleClas layout: Res2Net_vd splits its "
                                           "blocks in its own way"))
    if layout == 'official':
        return dict(split_style=('official', 'the official / timm layout, whose Res2Net pools '
                                             "the last split of every stage's first block"))
    if layout == MMPRETRAIN:
        return dict(split_style=('official', "mmpretrain's layout, whose Res2Net pools the "
                                             "last split of every stage's first block, as "
                                             "the official code does"))
    if layout in (resnet_keymap.OPENMMLAB, resnet_keymap.OPENMMLAB_BARE):
        return dict(split_style=(None, SHARED_LAYOUT))
    return {}


def from_config(type_name: str, args: dict) -> dict:
    """``split_style`` as the backbone ``dict`` of an OpenMMLab config states it:
    ``{'split_style': (value, how)}``. mmfish's Res2Net has the argument (default
    ``'official'``); mmdet's always leaves out the pool of layer1's first block; mmpretrain's
    applies it. An unscoped ``Res2Net`` of a config whose toolbox is unknown says nothing."""
    meta = "the checkpoint's config (meta)"
    scope = type_name.rpartition('.')[0]
    if scope == 'mmfish' or 'split_style' in args:
        if 'split_style' in args:
            return dict(split_style=(args['split_style'], f'set in {meta}'))
        return dict(split_style=('official', f"{meta} builds mmfish's Res2Net and leaves it "
                                             f"at its default"))
    if scope == 'mmdet':
        return dict(split_style=('mmdet', f"{meta} builds mmdet's Res2Net, which leaves out "
                                          f"the pool of the last split in layer1's first block"))
    if scope in ('mmpretrain', 'mmcls'):
        return dict(split_style=('official', f"{meta} builds mmpretrain's Res2Net, which pools "
                                             f"the last split of every stage's first block"))
    return {}


def detect(state, source, layout=None, dcn_type=None):
    cfg = detect_skeleton(state, Res2Net.arch_settings, source, Res2Net.__name__)
    split_conv = state['backbone.layer1.0.convs.0.weight']
    width = split_conv.shape[0]
    groups = width // split_conv.shape[1]
    scales = state['backbone.layer1.0.conv1.weight'].shape[0] // width
    base = cfg.get('base_channels', 64)
    cfg.update(scales=scales, base_width=(width // groups) * 64 // base, groups=groups)
    # mmdet's deformable split convs and plugin layers (their keys show them)
    cfg.update(resnet_keymap.detect_dcn(state, r'convs\.\d+', source, dcn_type))
    cfg.update(resnet_keymap.detect_plugins(state, source))
    return resnet_keymap.Detected(cfg, hidden=from_layout(layout))


# -- the stems a Res2Net has ------------------------------------------------------------------
#: Res2Net's stem styles by ``(deep_stem, avg_down)``: every implementation pairs the 7x7 stem
#: with conv shortcuts and the deep stem with avg-down shortcuts, and its stem gives layer1 as
#: many channels as the stage's planes (``stem_channels == base_channels``, 64 in every release)
STEM_STYLES = {
    (False, False): 'v1: the 7x7 stem conv and conv shortcuts (official res2net.py, timm '
                    'res2net50_26w_4s, mmpretrain with deep_stem=False)',
    (True, True): 'v1b / vd: the deep stem of three 3x3 convs (stem_channels / 2, '
                  'stem_channels / 2, stem_channels) and avg-down shortcuts (official '
                  'res2net_v1b.py, timm res2net50d, mmdet, PaddleClas Res2Net_vd)',
}
#: the arguments that describe the stem, not the blocks
STEM_ARGS = ('deep_stem', 'avg_down', 'stem_channels', 'in_channels')


def describe_stem(cfg: dict) -> str:
    """The stem and shortcuts of a Res2Net config, in words."""
    stem, base = cfg.get('stem_channels', 64), cfg.get('base_channels', 64)
    if cfg.get('deep_stem'):
        what = f'a deep stem of three 3x3 convs ({stem // 2}, {stem // 2}, {stem} channels)'
    else:
        what = f'a 7x7 stem conv ({stem} channels)'
    return (f'{what} before a layer1 of {base} planes, with '
            f'{"avg-down" if cfg.get("avg_down") else "conv"} shortcuts')


def stem_problems(cfg: dict) -> List[str]:
    """Why no Res2Net has the stem of ``cfg``; empty when one has."""
    problems = []
    deep, avg_down = bool(cfg.get('deep_stem')), bool(cfg.get('avg_down'))
    if (deep, avg_down) not in STEM_STYLES:
        stem_kind, shortcuts, paired = (('deep', 'conv', 'avg-down') if deep else
                                        ('7x7', 'avg-down', 'conv'))
        problems.append(f'no Res2Net pairs the {stem_kind} stem with {shortcuts} shortcuts '
                        f'(its {stem_kind} stem comes with {paired} shortcuts)')
    stem, base = cfg.get('stem_channels', 64), cfg.get('base_channels', 64)
    if stem != base:
        problems.append(f'the stem gives layer1 {stem} channels where a Res2Net gives its '
                        f'{base} planes (stem_channels == base_channels)')
        if deep and stem == 2 * base:
            problems.append(f'a deep stem twice as wide as the planes is ResNeSt\'s (ResNeSt-'
                            f'101/200/269: {stem // 2}, {stem // 2}, {stem} channels before '
                            f'{base} planes): the file likely joins a ResNeSt stem to Res2Net '
                            f'blocks')
    return problems


def _nearest(cfg: dict, released: Sequence) -> Tuple[str, list]:
    """The released variants closest to ``cfg``: those with its blocks (everything but the
    stem), else those of its depth, else all; and which of these they are."""
    def blocks(backbone):
        return {k: v for k, v in minimal(backbone, Res2Net).items() if k not in STEM_ARGS}

    for what, fits in (('these blocks', lambda v: blocks(v.backbone) == blocks(cfg)),
                       (f'depth {cfg.get("depth")}',
                        lambda v: v.backbone['depth'] == cfg.get('depth'))):
        near = [v for v in released if fits(v)]
        if near:
            return what, near
    return 'any blocks', list(released)


def check_custom(cfg: dict, source: str, released: Sequence) -> None:
    """Refuse a config that no released variant has (``released``: the family's variants)
    when its stem is no Res2Net's (:func:`stem_problems`): such a file joins the stem of
    another model to Res2Net blocks. The message names the stem seen, the valid ones and the
    released variants with the same blocks."""
    problems = stem_problems(cfg)
    if not problems:
        return
    what, near = _nearest(cfg, released)
    styles = {True: 'deep stem, avg-down shortcuts', False: '7x7 stem, conv shortcuts'}
    raise ConversionError(
        f'{source}: no Res2Net has this stem: {describe_stem(cfg)}; ' + '; '.join(problems)
        + '. A Res2Net has one of these stems: ' + '; '.join(STEM_STYLES.values())
        + f', with stem_channels == base_channels. The released Res2Net variants with {what}: '
        + ', '.join(f'{v.name} ({styles[bool(v.backbone.get("deep_stem"))]})' for v in near))
