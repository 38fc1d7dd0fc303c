"""Res2Net-DLA (:mod:`.model`, Res2Net's blocks in a DLA tree), the conversion of the official
releases (:mod:`.conversion`) and the released variants (:mod:`.releases`): the family
:data:`RES2NET_DLA`, registered here."""
from ...core.family import Family, register_family
from . import conversion, releases
from .model import Res2NetDLA

RES2NET_DLA = register_family(Family(
    name='Res2NetDLA', model=Res2NetDLA, layouts=conversion.LAYOUTS,
    markers=('.tree1.convs.0.', '.tree2.convs.0.'), contains=('Res2Net', ),
    to_mmfish_keys=conversion.to_mmfish_keys, detect=conversion.detect,
    released=releases.VARIANTS,
    collection=dict(Name='Res2Net-DLA', Paper=dict(
        Title='Res2Net: A New Multi-scale Backbone Architecture',
        URL='https://arxiv.org/abs/1904.01169'), Architecture=['Res2Net block', 'DLA']),
    small=dict(depth=60, channels=(8, 16, 32, 64, 128, 256), base_width=32)))

__all__ = ['RES2NET_DLA', 'Res2NetDLA']
