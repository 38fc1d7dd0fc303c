"""FishNet and FishNeXt (:mod:`.model`), FishNet's classifier neck (:mod:`.neck`), the
conversion of the official releases (:mod:`.conversion`) and the released variants
(:mod:`.releases`): the family :data:`FISHNET`, registered here."""
from ...core.family import Family, register_family
from . import conversion, releases
from .model import FishNet, FishNeXt
from .neck import FishScore

FISHNET = register_family(Family(
    name='FishNet', model=FishNet, layouts=conversion.LAYOUTS,
    markers=('fish.fish.', '.transfer.', 'bridge.'),
    to_mmfish_keys=conversion.to_mmfish_keys, detect=conversion.detect,
    detect_defaults=dict(groups=1, base_width=64),
    classifier_neck=conversion.classifier_neck, filled_layers=conversion.filled_layers,
    released=releases.VARIANTS, benchmarked=releases.BENCHMARKED, extra_backbones=releases.EXTRA_BACKBONES,
    collection=dict(Name='FishNet', Paper=dict(
        Title='FishNet: A Versatile Backbone for Image, Region, and Pixel Level Prediction',
        URL='https://arxiv.org/abs/1901.03495'), Architecture=['UR-block', 'DR-block']),
    # AVX2 train step, NCHW over channels-last: FishNet 0.95-0.97x: channels-last everywhere
    nchw_faster=(),
    small=dict(depth=99, base_channels=16)))

__all__ = ['FISHNET', 'FishNet', 'FishNeXt', 'FishScore']
