"""Make the PaddleClas Res2Net-vd fixtures with PaddleClas' own model code and Paddle's own
``paddle.save`` (developers only; the tests never run this, nor need Paddle).

    python -m venv /tmp/paddle && /tmp/paddle/bin/pip install paddlepaddle numpy
    /tmp/paddle/bin/python tools/reference_fixtures/paddle_res2net.py \\
        --reference PaddleClas --out tests/data/official

``--reference`` is a checkout (or export) of github.com/PaddlePaddle/PaddleClas; only
``ppcls/arch/backbone/model_zoo/res2net_vd.py`` is read, with its relative import of the
pretrained-weights loader removed. It writes into ``--out``:

* ``paddle_res2net200_vd_w16.pdparams``: ``Res2Net_vd(layers=200, scales=4, width=1,
  class_num=10)`` with every width of the real model divided by 16 (stem 2/2/4 channels,
  stage inputs 4/16/32/64, outputs 16/32/64/128, splits of 1/2/4/8 channels: the width
  constants patched in a copy of the source), the real depth-200 structure and names, random
  weights and BatchNorm statistics; saved as PaddleClas' released files were, with
  ``paddle.save(model.state_dict(), path)`` (pickle protocol 2).
* ``paddle_res2net200_vd_w16_expected.npz``: ``input`` (2x3x65x65, odd sides so that every
  pool meets a border) and ``logits``, the patched model's eval-mode output.
* ``state_dict_layouts_paddle.json.gz``: ``{'Res2Net200_vd_26w_4s_ssld': [[key, shape,
  dtype], ...]}`` of the real, full-width model, in the PyTorch naming the other entries of
  ``state_dict_layouts*.json.gz`` use (the official Res2Net-v1b names; BatchNorm with
  ``running_mean``/``running_var``/``num_batches_tracked``; ``fc.weight`` as (out, in)):
  what the converted release holds. The tests write the Paddle names back from it.
"""
import argparse
import gzip
import json
import multiprocessing
import os
import os.path as osp
import re
import types

import numpy as np
import paddle

SOURCE = 'ppcls/arch/backbone/model_zoo/res2net_vd.py'
OFFICIAL_NAME = 'Res2Net200_vd_26w_4s_ssld'
STEM = {'conv1_1': 0, 'conv1_2': 3, 'conv1_3': 6}
#: (text, replacement, count) applied to the source for the width-/16 model
_SP = '\n            '  # the indentation of the stem's arguments in res2net_vd.py
WIDTH_PATCHES = [
    ('from ....utils.save_load import load_dygraph_pretrain', 'load_dygraph_pretrain = None', 1),
    (f'num_channels=3,{_SP}num_filters=32,', f'num_channels=3,{_SP}num_filters=2,', 1),
    (f'num_channels=32,{_SP}num_filters=32,', f'num_channels=2,{_SP}num_filters=2,', 1),
    (f'num_channels=32,{_SP}num_filters=64,', f'num_channels=2,{_SP}num_filters=4,', 1),
    ('num_channels = [64, 256, 512, 1024]', 'num_channels = [4, 16, 32, 64]', 1),
    ('num_channels2 = [256, 512, 1024, 2048]', 'num_channels2 = [16, 32, 64, 128]', 1),
]


def load_module(reference: str, patches) -> types.ModuleType:
    with open(osp.join(reference, SOURCE)) as f:
        source = f.read()
    for old, new, count in patches:
        if source.count(old) != count:
            raise SystemExit(f'{SOURCE}: expected {count} x {old!r}; the file has changed')
        source = source.replace(old, new)
    module = types.ModuleType('res2net_vd')
    exec(compile(source, SOURCE, 'exec'), module.__dict__)
    return module


def randomize(model, rng: np.random.RandomState) -> None:
    """He-normal convolutions, a scaled-normal classifier; BatchNorm means and biases
    ~ N(0, 0.1), variances ~ U(0.5, 1.5), weights ~ U(0.5, 1.5) except the last norm of each
    block, ~ U(0.1, 0.4), so that 63 residual blocks keep the activations moderate."""
    for name, param in model.state_dict().items():
        shape = param.shape
        if name.endswith('_conv.weight'):
            value = rng.randn(*shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        elif name.endswith('_batch_norm.weight'):
            low, span = (0.1, 0.3) if '.conv2.' in name else (0.5, 1.0)
            value = rng.rand(*shape) * span + low
        elif name.endswith(('_batch_norm.bias', '_batch_norm._mean')):
            value = rng.randn(*shape) * 0.1
        elif name.endswith('_batch_norm._variance'):
            value = rng.rand(*shape) + 0.5
        elif name == 'out.weight':
            value = rng.randn(*shape) / np.sqrt(shape[0])
        elif name == 'out.bias':
            value = rng.randn(*shape) * 0.1
        else:
            raise SystemExit(f'unexpected parameter {name}')
        param.set_value(value.astype('float32'))


def torch_side_name(key: str) -> str:
    """The official PyTorch Res2Net-v1b name of a PaddleClas Res2Net_vd state dict key."""
    bn = {'weight': 'weight', 'bias': 'bias', '_mean': 'running_mean',
          '_variance': 'running_var'}
    m = re.match(r'^(conv1_\d)\._(conv|batch_norm)\.(\w+)$', key)
    if m:
        index = STEM[m.group(1)]
        if m.group(2) == 'conv':
            return f'conv1.{index}.weight'
        return ('bn1.' if index == 6 else f'conv1.{index + 1}.') + bn[m.group(3)]
    if key in ('out.weight', 'out.bias'):
        return 'fc.' + key.split('.')[1]
    m = re.match(r'^bb_(\d+)_(\d+)\.(\w+?)\._(conv|batch_norm)\.(\w+)$', key)
    if not m:
        raise SystemExit(f'unexpected key {key}')
    stage, block, part, kind, leaf = m.groups()
    split = re.match(r'^res\d\w+_branch2b_(\d+)$', part)
    if split:
        conv, norm = f'convs.{int(split.group(1)) - 1}', f'bns.{int(split.group(1)) - 1}'
    else:
        conv, norm = {'conv0': ('conv1', 'bn1'), 'conv2': ('conv3', 'bn3'),
                      'short': ('downsample.1', 'downsample.2')}[part]
    prefix = f'layer{int(stage) + 1}.{block}.'
    return prefix + (f'{conv}.weight' if kind == 'conv' else f'{norm}.{bn[leaf]}')


def torch_side_layout(state) -> list:
    entries = []
    for key, value in state.items():
        name, shape = torch_side_name(key), list(value.shape)
        if name == 'fc.weight':
            shape = shape[::-1]  # paddle.nn.Linear keeps (in, out)
        entries.append([name, shape, 'float32'])
        if name.endswith('running_var'):
            entries.append([name.replace('running_var', 'num_batches_tracked'), [], 'int64'])
    return entries  # in Paddle's order: stem, blocks, classifier


def write_layout(reference: str, out: str) -> None:
    paddle.set_device('cpu')
    full = load_module(reference, WIDTH_PATCHES[:1]).Res2Net200_vd_26w_4s()
    layout = {OFFICIAL_NAME: torch_side_layout(full.state_dict())}
    with open(osp.join(out, 'state_dict_layouts_paddle.json.gz'), 'wb') as raw, \
            gzip.GzipFile(fileobj=raw, mode='wb', mtime=0) as f:  # the same bytes each run
        f.write(json.dumps(layout).encode())
    print(f'layout of {OFFICIAL_NAME}: {len(layout[OFFICIAL_NAME])} entries')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--reference', required=True, help='a PaddleClas checkout')
    parser.add_argument('--out', required=True, help='tests/data/official')
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    paddle.set_device('cpu')
    paddle.seed(0)

    # Paddle refuses a parameter name twice in one process: the full model is built in another
    process = multiprocessing.get_context('spawn').Process(target=write_layout,
                                                           args=(args.reference, args.out))
    process.start()
    process.join()
    if process.exitcode:
        raise SystemExit(f'writing the layout failed ({process.exitcode})')

    module = load_module(args.reference, WIDTH_PATCHES)
    model = module.Res2Net_vd(layers=200, scales=4, width=1, class_num=10)
    randomize(model, np.random.RandomState(0))
    model.eval()
    x = np.random.RandomState(1).rand(2, 3, 65, 65).astype('float32')
    with paddle.no_grad():
        logits = model(paddle.to_tensor(x)).numpy()
    path = osp.join(args.out, 'paddle_res2net200_vd_w16.pdparams')
    paddle.save(model.state_dict(), path, protocol=2)
    np.savez(osp.join(args.out, 'paddle_res2net200_vd_w16_expected.npz'), input=x,
             logits=logits)
    print(f'wrote {path} ({osp.getsize(path)} bytes), logits {logits.shape} '
          f'(max |logit| {np.abs(logits).max():.3g})')


if __name__ == '__main__':
    main()
