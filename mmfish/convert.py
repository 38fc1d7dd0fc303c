"""``python -m mmfish.convert SRC DST [--family NAME]``: convert a released checkpoint of a
family mmfish knows (or a timm, mmdet, mmseg or mmpretrain one) into an mmfish checkpoint;
see :func:`mmfish.weights.convert_checkpoint`."""
import sys

from .weights.cli import main

if __name__ == '__main__':
    sys.exit(main())
