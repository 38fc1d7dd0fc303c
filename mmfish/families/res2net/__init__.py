"""Res2Net (:mod:`.model`), the conversion of its released layouts (:mod:`.conversion`), the
translation of the toolboxes' Res2Net configs (:mod:`.toolbox`) and the released variants and
trained models (:mod:`.releases`): the family :data:`RES2NET`, registered here."""
from ...core import resnet_keymap
from ...core.family import Family, register_family
from . import conversion, releases, toolbox
from .model import SPLIT_STYLES, Res2Net

RES2NET = register_family(Family(
    name='Res2Net', model=Res2Net, layouts=conversion.LAYOUTS,
    # PaddleClas' Res2Net_vd: res2a_branch2b_1._conv.weight, res2a_branch2b_1_weights, ...
    markers=('.convs.0.', '.bns.0.', '_branch2b_1.', '_branch2b_1_'),
    to_mmfish_keys=conversion.to_mmfish_keys, detect=conversion.detect, dcn=True,
    hidden=conversion.HIDDEN, hidden_choices=dict(split_style=SPLIT_STYLES),
    from_config=conversion.from_config, detect_defaults=resnet_keymap.DETECT_DEFAULTS,
    check_custom=conversion.check_custom,
    released=releases.VARIANTS, benchmarked=releases.BENCHMARKED, trained=releases.TRAINED,
    collection=dict(Name='Res2Net', Paper=dict(
        Title='Res2Net: A New Multi-scale Backbone Architecture',
        URL='https://arxiv.org/abs/1904.01169'), Architecture=['Res2Net block']),
    # AVX2 train step, NCHW over channels-last: Res2Net-50 v1b 1.02x, Res2Net-50 1.00x
    nchw_faster=(('cpu', 'AVX2', True), ),
    toolboxes=toolbox.HAVE_IT, toolbox_args=toolbox.toolbox_args,
    small=dict(depth=50, base_channels=16, base_width=32)))

__all__ = ['RES2NET', 'Res2Net']
