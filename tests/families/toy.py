"""A toy family, declared the way a family package under ``mmfish/families/`` declares one: a
backbone on :class:`~mmfish.core.base.BackboneBase`, the conversion rules of its made-up
official key layout, its rows of released variants, and its :class:`Family` with what the
generic code asks (the memory-format policy, the toolboxes that have it, its paper, a small
configuration for the parametrised tests). Nothing outside this module names it.

:func:`register` adds it to mmfish's registries and :func:`unregister` takes it out again;
imported as a pytest plugin (``-p tests.families.toy``), it is registered before the tests are
collected."""
import torch.nn as nn

from mmfish.core.base import BackboneBase, conv_norm_relu
from mmfish.core.checks import NUM_LEVELS, check_arguments
from mmfish.core.family import Family, register_family, unregister_family
from mmfish.core.keymap import count_blocks, fail_unplaced, rename
from mmfish.core.release import Benchmarked, Variant
from mmfish.registry import MODELS

LAYOUTS = ('toy official (toy_stem, toy_stages.<i>.<j>, classifier)',
           'OpenMMLab (backbone.*, head.fc.*)')


class ToyNet(BackboneBase):
    """A 3x3 stem at stride 2, an optional max-pool (``pool``: no weights, so a checkpoint
    cannot show it) and four stages of ``depth`` 3x3 convolutions, the first of each stage
    after the first at stride 2, ``width`` channels throughout.

    Args:
        depth (int): Convolutions per stage. Defaults to 2.
        width (int): Channels of every layer. Defaults to 8.
        in_channels (int): Input channels. Defaults to 3.
        pool (bool): A 2x2 max-pool after the stem. Defaults to False.
        contract_dilation (bool): Taken for the toolboxes' configs; it has no dilations.
            Defaults to False.
        **kwargs: :class:`~mmfish.core.base.BackboneBase`'s arguments.
    """
    argument_kinds = dict(depth=1, width=1, pool=bool)

    def __init__(self, depth: int = 2, width: int = 8, in_channels: int = 3, pool: bool = False,
                 contract_dilation: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_arguments(kinds=self.argument_kinds, depth=depth, width=width,
                        in_channels=in_channels, pool=pool, contract_dilation=contract_dilation)
        self.in_channels, self.depth, self.width, self.pool = in_channels, depth, width, pool
        self.stem = nn.Sequential(
            *conv_norm_relu(self.conv_cfg, self.norm_cfg, in_channels, width, 3, stride=2),
            nn.MaxPool2d(2) if pool else nn.Identity())
        self.stages = nn.ModuleList(
            nn.Sequential(*[nn.Sequential(*conv_norm_relu(
                self.conv_cfg, self.norm_cfg, width, width, 3, stride=2 if i and not j else 1))
                for j in range(depth)]) for i in range(NUM_LEVELS))
        first = 4 if pool else 2
        self.feature_info = [dict(num_chs=width, reduction=first * 2**i, module=f'stages.{i}')
                             for i in range(NUM_LEVELS)]
        self._finish_init()

    def stage_modules(self) -> list:
        return [self.stem, *self.stages]

    def forward_levels(self, x):
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
            yield x


def to_mmfish_keys(state, source):
    if any(k.startswith('backbone.') for k in state):
        layout, rules = 'openmmlab', [(r'^backbone\.', 'backbone.'), (r'^head\.fc\.', 'head.fc.')]
    else:
        layout, rules = 'toy-official', [(r'^toy_stem\.conv\.', 'backbone.stem.0.'),
                                         (r'^toy_stem\.bn\.', 'backbone.stem.1.'),
                                         (r'^toy_stages\.(\d+)\.(\d+)\.conv\.',
                                          r'backbone.stages.\1.\2.0.'),
                                         (r'^toy_stages\.(\d+)\.(\d+)\.bn\.',
                                          r'backbone.stages.\1.\2.1.'),
                                         (r'^classifier\.', 'head.fc.')]
    out, unplaced, dropped = rename(state, rules)
    fail_unplaced(unplaced, source, 'ToyNet', '; '.join(LAYOUTS))
    return out, layout, dropped


def detect(state, source, layout=None, dcn_type=None):
    stem = state['backbone.stem.0.weight']
    return dict(depth=count_blocks(state, 'backbone.stages.0'), width=stem.shape[0],
                in_channels=stem.shape[1])


#: two released variants that differ in what the weights cannot show (``pool``)
VARIANTS = (Variant('toynet-3', 'toynet3', dict(type='ToyNet', depth=3, pool=True), 0.01, None),
            Variant('toynet-4', 'toynet4', dict(type='ToyNet', depth=4), 0.01, None))

TOY = Family(
    name='ToyNet', model=ToyNet, layouts=LAYOUTS, markers=('toy_stages.', ),
    to_mmfish_keys=to_mmfish_keys, detect=detect, hidden=('pool', ), released=VARIANTS,
    collection=dict(Name='ToyNet', Paper=dict(Title='A toy family', URL='https://example.org'),
                    Architecture=['3x3 conv']),
    nchw_faster=(('cpu', 'AVX2', True), ), toolboxes=('mmdet', 'mmseg', 'mmpretrain', 'mmpose'),
    small=dict(depth=1, width=8),
    benchmarked=(Benchmarked('toynet-3', backbone=dict(type='ToyNet', depth=3), peers=()), ))


def register() -> Family:
    """ToyNet in mmfish's ``MODELS`` and its family in the registry of families."""
    MODELS.register_module(module=ToyNet)
    return register_family(TOY)


def unregister() -> None:
    unregister_family(TOY)
    MODELS.module_dict.pop('ToyNet', None)


def pytest_configure(config):  # as a pytest plugin (-p tests.families.toy): before collection
    register()
