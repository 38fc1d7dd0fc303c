"""Res2Net-DLA's published variants (the official dla.py; README: #Params, 100 - top-1 error)
and their released files, served where the official Res2Net code serves its own."""
from ...core.release import Variant, with_copies, with_urls
from ..res2net.releases import RES2NET_RELEASES, released_copies

VARIANTS = with_urls([
    # Res2Net-DLA-60 and Res2NeXt-DLA-60 (dla.py; README: #Params, 100 - top-1 error)
    Variant('res2net-dla60', 'res2net_dla60', dict(type='Res2NetDLA', depth=60), 21.15, 78.47,
            files=('res2net_dla60_4s-d88db7f9.pth', )),
    Variant('res2next-dla60', 'res2next_dla60',
            dict(type='Res2NetDLA', depth=60, groups=8, base_width=4), 17.33, 78.45,
            files=('res2next_dla60_4s-d327927b.pth', )),
], lambda name: RES2NET_RELEASES + name)
VARIANTS = with_copies(VARIANTS, {v.name: released_copies(v.files[0]) for v in VARIANTS})
