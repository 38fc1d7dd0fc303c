"""ResNeSt (:mod:`.model`), the conversion of its released layouts (:mod:`.conversion`), the
translation of the toolboxes' ResNeSt configs (:mod:`.toolbox`) and the released variants and
trained models (:mod:`.releases`): the family :data:`RESNEST`, registered here."""
from ...core import resnet_keymap
from ...core.family import Family, register_family
from . import conversion, releases, toolbox
from .model import ResNeSt

RESNEST = register_family(Family(
    name='ResNeSt', model=ResNeSt, layouts=resnet_keymap.LAYOUTS,
    markers=('.conv2.fc1.', '.conv2.conv.'), hidden=conversion.HIDDEN,
    to_mmfish_keys=conversion.to_mmfish_keys, detect=conversion.detect, dcn=True,
    detect_defaults=resnet_keymap.DETECT_DEFAULTS, from_config=conversion.from_config,
    released=releases.VARIANTS, benchmarked=releases.BENCHMARKED, trained=releases.TRAINED,
    collection=dict(Name='ResNeSt', Paper=dict(
        Title='ResNeSt: Split-Attention Networks', URL='https://arxiv.org/abs/2004.08955'),
        Architecture=['Split-Attention']),
    # AVX2 train step, NCHW over channels-last: ResNeSt-50 1.04x, ResNeSt-101 1.01x
    nchw_faster=(('cpu', 'AVX2', True), ),
    toolboxes=toolbox.HAVE_IT, toolbox_args=toolbox.toolbox_args,
    small=dict(depth=50, base_channels=16, stem_channels=16)))

__all__ = ['RESNEST', 'ResNeSt']
