"""mmcv plugin layers (``ContextBlock``, ``GeneralizedAttention``, ``NonLocal2d``, ...) in a
residual block, as mmdet's ResNet places and names them.

``plugins`` is a list of ``dict(cfg=dict(type=..., [postfix=...], ...), position=...,
[stages=(bool, bool, bool, bool)])``: the layer ``cfg`` is built with the channels at
``position`` (``'after_conv1'``, ``'after_conv2'`` or ``'after_conv3'``) in every block of
the stages marked (all four without ``stages``), and registered in the block under mmcv's
name for it, ``<abbreviation><postfix>`` (``context_block``, ``gen_attention_block``,
``nonlocal_block``): the keys of a checkpoint are mmdet's, e.g.
``layer2.0.context_block.conv_mask.weight``.
"""
from typing import Dict, Sequence, Tuple

POSITIONS = ('after_conv1', 'after_conv2', 'after_conv3')

__all__ = ['POSITIONS', 'stage_plugins', 'build_block_plugins']


def stage_plugins(plugins, stage: int) -> list:
    """The ``dict(cfg=..., position=...)`` of the (checked) ``plugins`` that go into stage
    ``stage`` (0-based)."""
    return [dict(cfg=p['cfg'], position=p['position']) for p in plugins or ()
            if p.get('stages') is None or p['stages'][stage]]


def build_block_plugins(block, plugins: Sequence[dict],
                        channels: Dict[str, int]) -> Dict[str, Tuple[str, ...]]:
    """Build ``plugins`` (one stage's) into ``block`` with the input channels of each
    position in ``channels``; return the names of the layers at each position, in order."""
    from mmcv.cnn import build_plugin_layer
    names = {position: [] for position in POSITIONS}
    for plugin in plugins:
        cfg = dict(plugin['cfg'])
        postfix = cfg.pop('postfix', '')
        name, layer = build_plugin_layer(cfg, postfix=postfix,
                                         in_channels=channels[plugin['position']])
        if hasattr(block, name):
            raise ValueError(f'plugins: two layers of one block would both be named {name!r} '
                             f'(or the name is taken by the block): give each plugin of a '
                             f"type its own postfix, e.g. cfg=dict(type='{plugin['cfg']['type']}'"
                             f", postfix='2', ...)")
        block.add_module(name, layer)
        names[plugin['position']].append(name)
    return {position: tuple(n) for position, n in names.items()}
