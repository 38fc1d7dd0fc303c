"""Write the ResNeSt fixtures of the converter tests with the reference code itself: the
official ResNeSt code (https://github.com/zhanghang1989/ResNeSt, ``resnest/torch/models``) and
timm (installed), plus the official Res2Net code for Res2Net-152 v1b's layout.

    python tools/reference_fixtures/resnest.py --resnest DIR --res2net DIR2 \
        --out tests/data/official

DIR is a checkout (or an export) of zhanghang1989/ResNeSt, DIR2 one of
Res2Net/Res2Net-PretrainedModels; their model code is imported from there (nothing of it is
copied here; the official ResNeSt package's only foreign import, fvcore's ``Registry``, is
stubbed). Written files:

* ``state_dict_layouts_released.json.gz``: key names, shapes and dtypes of the full-size
  state dicts of the seven official ``resnest50_fast_*`` models (``ablation.py``), of timm's
  ``resnest14d`` and ``resnest26d`` (the GluonCV ResNeSt-14/26 weights as timm releases them)
  and of the official ``res2net152_v1b_26w_4s``.
* ``resnest_<name>_w16.pth``: reduced models (every stage width / 16, stem width 4, 10
  classes) with random weights and BatchNorm statistics:

  - ``resnest50_fast_2s1x64d`` and ``resnest50_fast_4s1x64d`` from the official code, saved as
    the official files of 2020 were (a plain state dict, legacy pre-zip serialisation);
  - ``resnest50d_1s4x24d`` (with two blocks per stage and ``channels`` / 8, which its 24d
    width needs) and ``resnest14d`` from timm, saved as ``torch.save(model.state_dict())``.
* ``resnest_reference_logits.pt``: the input and, per file, the reference code's logits.

Developers run this; tests never do.
"""
import argparse
import gzip
import importlib.util
import json
import os.path as osp
import sys
import types

import torch
import torch.nn as nn
from common import state_layout

NUM_CLASSES = 10
FAST = ['resnest50_fast_1s1x64d', 'resnest50_fast_2s1x64d', 'resnest50_fast_4s1x64d',
        'resnest50_fast_1s2x40d', 'resnest50_fast_2s2x40d', 'resnest50_fast_4s2x40d',
        'resnest50_fast_1s4x24d']


def _import_official_resnest(root):
    registry = types.ModuleType('fvcore.common.registry')

    class Registry:  # the official package registers its builders; nothing reads them here
        def __init__(self, name):
            self.name = name

        def register(self, obj=None):
            return obj if obj is not None else (lambda fn: fn)

    registry.Registry = Registry
    for name in ('fvcore', 'fvcore.common'):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules['fvcore.common.registry'] = registry
    models = osp.join(root, 'resnest', 'torch', 'models')
    spec = importlib.util.spec_from_file_location(
        'resnest_official', osp.join(models, '__init__.py'), submodule_search_locations=[models])
    module = importlib.util.module_from_spec(spec)
    sys.modules['resnest_official'] = module
    spec.loader.exec_module(module)
    return module


def _import_official_res2net_v1b(root):
    spec = importlib.util.spec_from_file_location('res2net_v1b_official',
                                                  osp.join(root, 'res2net_v1b.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith(('running_mean', 'bias')):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif t.dim() == 1:  # BN weight
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                fan_in = t[0].numel()
                t.copy_(torch.randn(t.shape, generator=g) * (2 / fan_in) ** 0.5)
    return model.eval()


def _reduced_official(module, name, seed):
    """``name`` built by the official ablation code, with stem width 4 and every stage's
    planes / 16 (the builder fixes the stem width: the constructor is wrapped to change it)."""
    resnet = sys.modules['resnest_official.resnet'].ResNet
    init, make_layer = resnet.__init__, resnet._make_layer

    def reduced_init(self, *args, **kwargs):
        init(self, *args, **dict(kwargs, stem_width=4, num_classes=NUM_CLASSES))

    def reduced_layer(self, block, planes, *args, **kwargs):
        return make_layer(self, block, planes // 16, *args, **kwargs)

    resnet.__init__, resnet._make_layer = reduced_init, reduced_layer
    try:
        model = getattr(module, name)()
    finally:
        resnet.__init__, resnet._make_layer = init, make_layer
    model.fc = nn.Linear(512 * 4 // 16, NUM_CLASSES)
    return _randomize(model, seed)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--resnest', required=True, help='checkout of zhanghang1989/ResNeSt')
    parser.add_argument('--res2net', required=True,
                        help='checkout of Res2Net/Res2Net-PretrainedModels')
    parser.add_argument('--out', default='tests/data/official')
    args = parser.parse_args()
    import timm

    official = _import_official_resnest(args.resnest)
    layouts = {}
    with torch.device('meta'):
        for name in FAST:
            layouts[name] = state_layout(getattr(official, name)().state_dict())
        for name in ('resnest14d', 'resnest26d'):
            layouts[name] = state_layout(timm.create_model(name).state_dict())
        res2net = _import_official_res2net_v1b(args.res2net)
        layouts['res2net152_v1b_26w_4s'] = state_layout(
            res2net.res2net152_v1b_26w_4s().state_dict())
    path = osp.join(args.out, 'state_dict_layouts_released.json.gz')
    with gzip.open(path, 'wt') as f:
        json.dump(layouts, f)
    print(f'wrote {path}: {", ".join(layouts)}')

    torch.manual_seed(0)
    expected = dict(input=torch.rand(2, 3, 32, 32))
    models = {
        'resnest50_fast_2s1x64d': _reduced_official(official, 'resnest50_fast_2s1x64d', 1),
        'resnest50_fast_4s1x64d': _reduced_official(official, 'resnest50_fast_4s1x64d', 2),
        'resnest50d_1s4x24d': _randomize(timm.create_model(
            'resnest50d_1s4x24d', layers=[2, 2, 2, 2], channels=(8, 16, 32, 64), stem_width=4,
            num_classes=NUM_CLASSES), 3),
        'resnest14d': _randomize(timm.create_model(
            'resnest14d', channels=(4, 8, 16, 32), stem_width=4, num_classes=NUM_CLASSES), 4),
    }
    for name, model in models.items():
        file = osp.join(args.out, f'resnest_{name}_w16.pth')
        legacy = name.startswith('resnest50_fast')
        torch.save(model.state_dict(), file, _use_new_zipfile_serialization=not legacy)
        with torch.no_grad():
            expected[name] = model(expected['input'])
        print(f'wrote {file} ({osp.getsize(file) // 1024} kB'
              f'{", legacy serialisation" if legacy else ""})')
    path = osp.join(args.out, 'resnest_reference_logits.pt')
    torch.save(expected, path)
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
