"""Convert a checkpoint into an mmfish checkpoint.

    python tools/model_converters/fishnet2mmfish.py SRC DST
"""
import sys

from mmfish.weights import main

if __name__ == '__main__':
    sys.exit(main('fishnet'))
