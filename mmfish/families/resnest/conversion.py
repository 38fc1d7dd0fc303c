"""ResNeSt checkpoints: official, timm (``resnest*d``), mmdet, mmseg, mmpretrain and mmpose."""
from typing import Optional

from ...checkpoint.io import ConversionError
from ...core import resnet_keymap
from ...core.resnet_keymap import detect_skeleton
from .model import ResNeSt

#: arguments the weights cannot show (pools have no weights): decided by
#: :func:`mmfish.weights.decide.decide`
HIDDEN = ('avd', 'avd_first')
__all__ = ['to_mmfish_keys', 'detect', 'from_config', 'from_layout']


def to_mmfish_keys(state, source):
    return resnet_keymap.to_mmfish_keys(state, source, ResNeSt.__name__)


def detect(state, source, layout=None, dcn_type=None):
    cfg = detect_skeleton(state, ResNeSt.arch_settings, source, ResNeSt.__name__)
    width = state['backbone.layer1.0.conv1.weight'].shape[0]
    split_conv = state['backbone.layer1.0.conv2.conv.weight']
    radix = split_conv.shape[0] // width
    groups = width // (split_conv.shape[1] * radix)
    base = cfg.get('base_channels', 64)
    cfg.update(radix=radix, groups=groups, base_width=(width // groups) * 64 // base,
               reduction_factor=_reduction_factor(state, radix, source))
    # mmdet's deformable split-attention convs and plugin layers (their keys show them)
    cfg.update(resnet_keymap.detect_dcn(state, r'conv2\.conv', source, dcn_type))
    cfg.update(resnet_keymap.detect_plugins(state, source))
    return resnet_keymap.Detected(cfg, hidden=from_layout(layout))


#: the ResNeSt classes whose checkpoints have the OpenMMLab key layout
TOOLBOXES = "mmdet's, mmseg's, mmpretrain's and mmpose's ResNeSt"


def from_layout(layout: Optional[str]) -> dict:
    """The hidden arguments that the key layout fixes, ``{name: (value, how)}``: the toolboxes'
    ResNeSt always pool after the split-attention conv (they have no ``avd_first``), so a
    checkpoint in their layout has ``avd_first=False``. Whether they pool at all
    (``avg_down_stride``) is their config's, and the official and timm layouts show neither:
    their files may put the pool first (the official ``resnest50_fast_*``)."""
    if layout not in (resnet_keymap.OPENMMLAB, resnet_keymap.OPENMMLAB_BARE):
        return {}
    return dict(avd_first=(False, (
        f'the toolbox layout {layout}, that of {TOOLBOXES}, which always pool after the '
        f"split-attention conv (mmfish's ResNeSt has these keys too: for one built with "
        f'avd_first=True, say --avd-first)')))


def _reduction_factor(state, radix, source, default=4):
    """The attention's reduction factor: its hidden layer has max(width * radix // factor, 32)
    channels, so where every block clamps to 32 the weights cannot tell factors apart; the
    default (that of every released model) is taken whenever it reproduces every block."""
    pairs = []
    for key, fc1 in state.items():
        if key.endswith('.conv2.fc1.weight'):
            width = state[key.replace('fc1.weight', 'conv.weight')].shape[0] // radix
            pairs.append((width, fc1.shape[0]))

    def fits(factor):
        return all(max(w * radix // factor, 32) == hidden for w, hidden in pairs)

    if fits(default):
        return default
    width, hidden = max(pairs)
    factor = max(width * radix // hidden, 1)
    if not fits(factor):
        raise ConversionError(f'{source}: the split-attention layers (conv2.fc1) have hidden '
                              f'widths no reduction factor gives: {sorted(set(pairs))[:6]} '
                              f'(width, hidden)')
    return factor


def from_config(type_name: str, args: dict) -> dict:
    """``avd`` and ``avd_first`` as the backbone ``dict`` of an OpenMMLab config states them:
    ``{name: (value, how)}``. mmfish's ResNeSt has both arguments; mmdet's, mmseg's,
    mmpretrain's and mmpose's have ``avg_down_stride`` (default True) for ``avd`` and always
    pool after the split-attention conv."""
    meta = "the checkpoint's config (meta)"
    if type_name.startswith('mmfish.') or 'avd' in args or 'avd_first' in args:
        defaults = dict(avd=True, avd_first=False)  # mmfish's ResNeSt
        return {k: (args[k], f'set in {meta}') if k in args else
                (defaults[k], f"{meta} builds mmfish's ResNeSt and leaves it at its default")
                for k in HIDDEN}
    avd = (args['avg_down_stride'], f'avg_down_stride in {meta}') \
        if 'avg_down_stride' in args else \
        (True, f"{meta} builds the toolbox's {type_name}, whose avg_down_stride defaults to True")
    return dict(avd=avd, avd_first=(False, f"{meta} builds the toolbox's {type_name}, which "
                                           f"always pools after the split-attention conv"))
