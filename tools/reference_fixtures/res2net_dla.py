"""Write the Res2Net-DLA fixtures of tests/families/res2net_dla/test_conversion.py and the official
state-dict layouts of tests/test_variants.py with the official code
(https://github.com/Res2Net/Res2Net-PretrainedModels, ``dla.py``).

    python tools/reference_fixtures/res2net_dla.py --reference DIR --out tests/data/official

DIR is a checkout (or an export) of Res2Net/Res2Net-PretrainedModels: its ``dla.py`` is
imported from there (nothing of it is copied here). Written files:

* ``state_dict_layouts_dla.json.gz``: ``{official name: [[key, shape, dtype], ...]}`` of the
  full-size ``res2net_dla60()`` and ``res2next_dla60()`` (built on the meta device).
* ``res2net_dla60_w8.pth.gz``: the official ``DLA`` with ``res2net_dla60``'s levels and block
  (``Bottle2neck``, baseWidth 28, scale 4) at every width / 8, channels (2, 4, 16, 32, 64,
  128), 10 classes.
* ``res2next_dla60_w32.pth.gz``: the same with ``res2next_dla60``'s block (``Bottle2neckX``,
  cardinality 8, scale 4) and channels (4, 8, 32, 64, 96, 128): its grouped split
  convolutions need levels of multiples of 32 channels.
* ``res2net_dla_expected.pt``: the input, and for each file its channels and the official
  code's logits (``pool_size=2``: the official ``AvgPool2d(7)`` expects 224 x 224 inputs,
  the fixtures' 64 x 64 inputs give 2 x 2 at level5).

Each checkpoint is saved as the released files were: ``torch.save(model.state_dict())``, a
plain state dict with the official keys (the releases predate PyTorch 1.6, hence the legacy
serialisation), then gzip-compressed (the tests decompress them). Weights and BatchNorm
statistics are random but drawn from a few values per tensor, so that gzip shrinks the files.
Developers run this; tests never do.
"""
import argparse
import gzip
import importlib.util
import json
import os.path as osp
import sys

import torch
import torch.nn as nn
from common import levels, randomize_batchnorm, state_layout, write_gzip

NUM_CLASSES = 10
SEED = 0
INPUT_SHAPE = (2, 3, 64, 64)
POOL_SIZE = 2  # level5 of a 64 x 64 input
RESIDUAL_SCALE = 0.25  # small residual branches: logits of a moderate size
LEVELS = [1, 1, 1, 2, 3, 1]  # res2net_dla60 / res2next_dla60
FIXTURES = [  # file, official builder, block class, channels
    ('res2net_dla60_w8.pth.gz', 'res2net_dla60', 'Bottle2neck', [2, 4, 16, 32, 64, 128]),
    ('res2next_dla60_w32.pth.gz', 'res2next_dla60', 'Bottle2neckX', [4, 8, 32, 64, 96, 128]),
]


def import_reference(root: str):
    path = osp.join(root, 'dla.py')
    if not osp.isfile(path):
        sys.exit(f'{root}: no dla.py: give a checkout of Res2Net/Res2Net-PretrainedModels')
    spec = importlib.util.spec_from_file_location('res2net_dla_reference', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def layouts(dla) -> dict:
    out = {}
    for name in ('res2net_dla60', 'res2next_dla60'):
        with torch.device('meta'):
            state = getattr(dla, name)().state_dict()
        out[name] = state_layout(state)
    return out


def randomize(model: nn.Module, gen: torch.Generator) -> None:
    """Random weights and BatchNorm statistics, each tensor drawn from 16 values."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(levels(m.weight.shape, gen, (2. / fan_in)**0.5 / 4))
                if m.bias is not None:
                    m.bias.copy_(levels(m.bias.shape, gen, 1 / 64))
            elif isinstance(m, nn.BatchNorm2d):
                randomize_batchnorm(m, gen)
                m.num_batches_tracked.fill_(1000)
        for m in model.modules():
            if hasattr(m, 'conv3'):
                m.conv3.weight.mul_(RESIDUAL_SCALE)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--reference', required=True,
                        help='checkout of Res2Net/Res2Net-PretrainedModels')
    parser.add_argument('--out', required=True, help='tests/data/official')
    args = parser.parse_args()
    dla = import_reference(args.reference)

    path = osp.join(args.out, 'state_dict_layouts_dla.json.gz')
    with open(path, 'wb') as f, gzip.GzipFile(fileobj=f, mode='wb', mtime=0,
                                              filename='') as gz:
        gz.write(json.dumps(layouts(dla)).encode())
    print(f'wrote {path}')

    gen = torch.Generator().manual_seed(SEED)
    x = torch.rand(INPUT_SHAPE, generator=gen)
    expected = {'input': x, 'num_classes': NUM_CLASSES}
    for name, official, block, channels in FIXTURES:
        model = dla.DLA(LEVELS, channels, num_classes=NUM_CLASSES, block=getattr(dla, block),
                        pool_size=POOL_SIZE)
        randomize(model, gen)
        model.eval()
        with torch.no_grad():
            logits = model(x)
        expected[name] = dict(official=official, channels=channels, logits=logits)
        path = osp.join(args.out, name)
        write_gzip(model.state_dict(), path)
        print(f'wrote {path} ({osp.getsize(path) / 1e6:.2f} MB): {official} at channels '
              f'{channels}; logits std {logits.std():.3f}')
    path = osp.join(args.out, 'res2net_dla_expected.pt')
    torch.save(expected, path)
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
