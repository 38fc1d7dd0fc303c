"""Write the FishNet release fixtures of tests/families/fishnet/test_releases.py with the
official FishNet code (https://github.com/kevin-ssy/FishNet, models/), at every width / 8 and
10 classes, each with the official code's logits on one fixed input.

    python tools/reference_fixtures/fishnet.py --reference DIR --out tests/data/official

DIR is a checkout (or an export) of kevin-ssy/FishNet: its ``models/`` package is imported
from there (nothing of it is copied here). Written files (gzip-compressed, to keep them small;
the tests decompress them):

* ``fishnet99_w8_ckpt.tar.gz``: the released layout (``fishnet99_ckpt.tar``,
  ``fishnet150_ckpt.tar``), saved as PyTorch 0.4.0 saved it: the legacy (pre-zip)
  serialisation and no BatchNorm ``num_batches_tracked``.
* ``fishnet150_w8_welltrained_ckpt.tar.gz``: the layout of ``fishnet150_ckpt_welltrained.tar``:
  the bridge's score layers in ``fish.fish.3.0`` (BN) and ``fish.fish.3.1.{0,1,3}`` (conv, BN,
  1x1 conv with bias), the classifier's in ``fish.fish.9.3.0`` (BN) and
  ``fish.fish.9.4.{0,1,4}``.
* ``fishnet201_w8_welltrain_ckpt.tar.gz``: the layout of ``fishnet201_ckpt_welltrain.tar``: the
  same bridge, the classifier in ``fish.fish.9.2.0`` (BN) and ``fish.fish.9.3.{0,1,4}``, and
  a bare 1x1 conv as the first tail block's shortcut (``fish.fish.0.0.0.shortcut.weight``, no
  BN-ReLU before it): the reference model is built with that bare conv, so its logits are
  those of a model without the BN-ReLU.
* ``fishnet_releases_expected.pt``: the input and, for each file, the reference logits.

The welltrained layouts are the inverse of the key remapping in
lyakaap/Landmark2019-1st-and-3rd-Place-Solution, src/FishNet/fix_checkpoint.py (which loads
the two files into the released code). Like that script's moves (weight, bias, running_mean,
running_var, and a strict load for FishNet-150), the welltrained fixtures have no
``num_batches_tracked``, and all three are legacy-serialised training checkpoints of a
DataParallel model (``module.`` keys, ``epoch``, ``arch``, ``best_prec1``, ``optimizer``).

Weights and BatchNorm statistics are random but drawn from a few values per tensor, so that
gzip shrinks the files (a few hundred kB each); the logits are the official code's in float32.
Developers run this; tests never do.
"""
import argparse
import importlib
import os.path as osp
import sys
import types

import torch
import torch.nn as nn
from common import levels, randomize_batchnorm, write_gzip

#: the official widths (models/net_factory.py), divided by 8 for the fixtures
NETWORK_PLANES = [64, 128, 256, 512, 512, 512, 384, 256, 320, 832, 1600]
WIDTH_DIV = 8
NUM_CLASSES = 10
SEED = 0
INPUT_SHAPE = (2, 3, 64, 96)  # the official code needs sides that are multiples of 32
RESIDUAL_SCALE = 0.25  # of the blocks' last conv: logits of a moderate size

# welltrained name -> released name (fix_checkpoint.py's moves, read the other way round)
BRIDGE = {'fish.fish.3.0.2.': 'fish.fish.3.1.0.', 'fish.fish.3.0.3.': 'fish.fish.3.1.1.',
          'fish.fish.3.1.': 'fish.fish.3.1.3.'}
WELLTRAINED = {
    'fishnet150': {**BRIDGE, 'fish.fish.9.3.2.': 'fish.fish.9.4.0.',
                   'fish.fish.9.3.3.': 'fish.fish.9.4.1.', 'fish.fish.9.4.1.': 'fish.fish.9.4.4.'},
    'fishnet201': {**BRIDGE, 'fish.fish.9.3.0.': 'fish.fish.9.2.0.',
                   'fish.fish.9.3.2.': 'fish.fish.9.3.0.', 'fish.fish.9.3.3.': 'fish.fish.9.3.1.',
                   'fish.fish.9.4.1.': 'fish.fish.9.3.4.'},
}
FIXTURES = [  # file, arch, layout
    ('fishnet99_w8_ckpt.tar.gz', 'fishnet99', 'released'),
    ('fishnet150_w8_welltrained_ckpt.tar.gz', 'fishnet150', 'welltrained'),
    ('fishnet201_w8_welltrain_ckpt.tar.gz', 'fishnet201', 'welltrained'),
]


def import_reference(root: str):
    """kevin-ssy/FishNet's ``models`` package as ``fishnet_reference`` (without running its
    ``__init__``, which imports torchvision)."""
    models = osp.join(root, 'models')
    if not osp.isfile(osp.join(models, 'net_factory.py')):
        sys.exit(f'{root}: no models/net_factory.py: give a checkout of kevin-ssy/FishNet')
    pkg = types.ModuleType('fishnet_reference')
    pkg.__path__ = [models]
    sys.modules['fishnet_reference'] = pkg
    return importlib.import_module('fishnet_reference.net_factory')


def randomize(model: nn.Module, gen: torch.Generator) -> None:
    """Random weights and BatchNorm statistics, each tensor drawn from 16 values."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.copy_(levels(m.weight.shape, gen, (2. / n)**0.5 / 4))
                if m.bias is not None:
                    m.bias.copy_(levels(m.bias.shape, gen, 1 / 64))
            elif isinstance(m, nn.BatchNorm2d):
                randomize_batchnorm(m, gen)
        for m in model.modules():
            if type(m).__name__ == 'Bottleneck':
                m.conv3.weight.mul_(RESIDUAL_SCALE)


def build(factory, arch: str) -> nn.Module:
    model = getattr(factory, arch)(network_planes=[p // WIDTH_DIV for p in NETWORK_PLANES],
                                   num_cls=NUM_CLASSES)
    if arch == 'fishnet201':  # fishnet201_ckpt_welltrain.tar: a bare conv as first shortcut
        block = model.fish.fish[0][0][0]
        block.shortcut = block.shortcut[2]
    return model


def checkpoint(model: nn.Module, arch: str, layout: str) -> dict:
    state = {k: v for k, v in model.state_dict().items()
             if not k.endswith('num_batches_tracked')}  # PyTorch 0.4.0 had none
    if layout == 'welltrained':
        moves = WELLTRAINED[arch]
        renamed = {}
        for key, value in state.items():
            prefix = next((p for p in moves if key.startswith(p)), None)
            renamed[key if prefix is None else moves[prefix] + key[len(prefix):]] = value
        assert len(renamed) == len(state)
        state = renamed
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    return {'epoch': 100, 'arch': arch, 'best_prec1': 12.5,
            'state_dict': {f'module.{k}': v for k, v in state.items()},
            'optimizer': optimizer.state_dict()}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--reference', required=True, help='checkout of kevin-ssy/FishNet')
    parser.add_argument('--out', required=True, help='tests/data/official')
    args = parser.parse_args()
    factory = import_reference(args.reference)
    gen = torch.Generator().manual_seed(SEED)
    x = torch.rand(INPUT_SHAPE, generator=gen)
    expected = {'input': x, 'num_classes': NUM_CLASSES, 'width_div': WIDTH_DIV}
    for name, arch, layout in FIXTURES:
        model = build(factory, arch)
        randomize(model, gen)
        model.eval()
        with torch.no_grad():
            expected[name] = model(x)
        path = osp.join(args.out, name)
        write_gzip(checkpoint(model, arch, layout), path)
        print(f'wrote {path} ({osp.getsize(path) / 1e6:.2f} MB): {arch}, {layout} layout')
    path = osp.join(args.out, 'fishnet_releases_expected.pt')
    torch.save(expected, path)
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
