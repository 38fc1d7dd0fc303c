"""``python -m mmfish.convert SRC DST [--family {fishnet,res2net,resnest}]``: convert a
released FishNet, Res2Net or ResNeSt checkpoint (or a timm, mmdet, mmseg or mmpretrain one)
into an mmfish checkpoint; see :func:`mmfish.converters.convert_checkpoint`."""
import sys

from .converters import main

if __name__ == '__main__':
    sys.exit(main())
