"""PaddleClas' Res2Net_vd: a depth-200 model at widths / 16 made, run and saved by PaddleClas'
own code and Paddle's ``paddle.save`` (tools/reference_fixtures/paddle_res2net.py) converts
with its family detected, loads strictly into the in1k config at those widths and gives
Paddle's logits."""
import gzip
import json
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmfish.checkpoint.paddle import PaddleUnpickler
from mmfish.weights import ConversionError, convert_checkpoint
from mmfish.testing import max_rel_error
from mmfish.variants import VARIANTS

from tests.conftest import DATA, build_in_scope

OFFICIAL = DATA / 'official'
FIXTURE = OFFICIAL / 'paddle_res2net200_vd_w16.pdparams'
EXPECTED = OFFICIAL / 'paddle_res2net200_vd_w16_expected.npz'
REPO = DATA.parent.parent
with gzip.open(OFFICIAL / 'state_dict_layouts_paddle.json.gz', 'rt') as _f:
    #: official models released as Paddle .pdparams (their layouts keep PyTorch names)
    PADDLE_RELEASES = set(json.load(_f))
#: the fixture's backbone: every width of Res2Net200_vd_26w_4s / 16
W16 = dict(type='Res2Net', depth=200, stem_channels=4, base_channels=4, base_width=16,
           deep_stem=True, avg_down=True, split_style='paddle')


def paddle_name(key: str, depth: int) -> str:
    """PaddleClas Res2Net_vd's state-dict name (res2net_vd.py) of an official PyTorch
    Res2Net-v1b key, as the layouts file keeps them."""
    bn = {'weight': 'weight', 'bias': 'bias', 'running_mean': '_mean',
          'running_var': '_variance'}
    if key.startswith('fc.'):
        return 'out.' + key[3:]
    m = re.match(r'^(conv1\.(\d)|bn1)\.(\w+)$', key)
    if m:
        index = 7 if m.group(1) == 'bn1' else int(m.group(2))
        layer = f'conv1_{index // 3 + 1}'
        return f'{layer}._conv.weight' if index % 3 == 0 else \
            f'{layer}._batch_norm.{bn[m.group(3)]}'
    stage, block, part, leaf = re.match(r'^layer(\d)\.(\d+)\.(\w+(?:\.\d)?)\.(\w+)$',
                                        key).groups()
    stage, block = int(stage) - 1, int(block)
    if depth in (101, 152, 200) and stage == 2:
        conv_name = 'res4a' if block == 0 else f'res4b{block}'
    else:
        conv_name = f'res{stage + 2}{chr(97 + block)}'
    split = re.match(r'^(convs|bns)\.(\d)$', part)
    sub = f'{conv_name}_branch2b_{int(split.group(2)) + 1}' if split else {
        'conv1': 'conv0', 'bn1': 'conv0', 'conv3': 'conv2', 'bn3': 'conv2',
        'downsample.1': 'short', 'downsample.2': 'short'}[part]
    return f'bb_{stage}_{block}.{sub}.' + ('_conv.weight' if part.startswith('conv') or
                                          part == 'downsample.1' else f'_batch_norm.{bn[leaf]}')


def save_paddle_release(state: dict, path, depth: int) -> dict:
    """Write ``state`` (official PyTorch names) as PaddleClas releases it: a protocol-2 pickle
    of Paddle's names to numpy arrays, the classifier as (in, out), without BatchNorm
    counters. Returns what the converted checkpoint must hold (counters filled with 0)."""
    arrays = {}
    for key, value in state.items():
        if not key.endswith('num_batches_tracked'):
            value = value.t() if key == 'fc.weight' else value
            arrays[paddle_name(key, depth)] = value.numpy()
    with open(path, 'wb') as f:
        pickle.dump(arrays, f, protocol=2)
    return {k: torch.zeros_like(v) if k.endswith('num_batches_tracked') else v
            for k, v in state.items()}


def _w16_error(dst) -> float:
    cfg = Config.fromfile(REPO / VARIANTS['res2net200-v1d-w26-s4'].config)
    cfg.model.backbone.update(stem_channels=4, base_channels=4, base_width=16)
    cfg.model.head.update(in_channels=128, num_classes=10)
    model = build_in_scope('mmpretrain', cfg.model).eval()
    model.load_state_dict(torch.load(dst)['state_dict'], strict=True)
    expected = np.load(EXPECTED)
    with torch.no_grad():
        logits = model(torch.from_numpy(expected['input']), mode='tensor')
    return max_rel_error(logits, torch.from_numpy(expected['logits']))


def test_paddle_checkpoint_gives_paddles_logits(tmp_path):
    dst = tmp_path / 'res2net200.pth'
    lines = []
    meta = convert_checkpoint(None, str(FIXTURE), str(dst), log=lines.append)['mmfish']
    assert 'family: Res2Net (detected from the keys)' in lines
    assert meta['layout'] == 'paddle' and meta['num_classes'] == 10
    assert meta['backbone'] == W16
    assert meta['variant'] is None  # no published variant has these widths
    assert any('337 filled with 0' in line for line in lines)  # Paddle keeps no counters
    assert _w16_error(dst) < 1e-4


def test_parameter_names_convert_alike(tmp_path):
    """The parameter names (conv1_1_weights, bnv1_1_scale, bn2a_branch2a_scale, ...,
    fc_weights: the static-graph release's names, which Paddle keeps beside the keys) place
    every tensor where the state-dict names do."""
    with open(FIXTURE, 'rb') as f:
        raw = PaddleUnpickler(f).load()
    names = raw.pop('StructuredToParameterName@@')
    assert names['bb_2_47.res4b47_branch2b_3._batch_norm._variance'] == \
        'bn4b47_branch2b_3_variance'
    src = tmp_path / 'params.pdparams'
    src.write_bytes(pickle.dumps({names[k]: v for k, v in raw.items()}, protocol=2))
    meta = convert_checkpoint('res2net', str(src), str(tmp_path / 'a.pth'),
                              log=lambda s: None)['mmfish']
    assert meta['backbone'] == W16
    assert _w16_error(tmp_path / 'a.pth') < 1e-4


def test_the_official_split_style_computes_something_else(tmp_path):
    """Why ``split_style='paddle'``: the same weights in the authors' split style (layer1's
    first block without hierarchy, its last split pooled; pools counting the padding) do not
    give Paddle's logits."""
    dst = tmp_path / 'res2net200.pth'
    convert_checkpoint('res2net', str(FIXTURE), str(dst), log=lambda s: None)
    cfg = Config.fromfile(REPO / VARIANTS['res2net200-v1d-w26-s4'].config)
    cfg.model.backbone.update(stem_channels=4, base_channels=4, base_width=16,
                              split_style='official')
    cfg.model.head.update(in_channels=128, num_classes=10)
    model = build_in_scope('mmpretrain', cfg.model).eval()
    model.load_state_dict(torch.load(dst)['state_dict'], strict=True)  # the same weights
    expected = np.load(EXPECTED)
    with torch.no_grad():
        logits = model(torch.from_numpy(expected['input']), mode='tensor')
    assert max_rel_error(logits, torch.from_numpy(expected['logits'])) > 1e-2


def test_python_m_mmfish_convert_reads_the_released_name(tmp_path):
    src = tmp_path / 'Res2Net200_vd_26w_4s_ssld_pretrained.pdparams'
    shutil.copy(FIXTURE, src)
    dst = tmp_path / 'checkpoints' / 'out.pth'
    result = subprocess.run([sys.executable, '-m', 'mmfish.convert', str(src), str(dst)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'family: Res2Net (detected from the keys)' in result.stdout
    assert "split_style': 'paddle'" in result.stdout and 'layout: paddle' in result.stdout
    assert _w16_error(dst) < 1e-4


def test_unplaced_paddle_keys_are_named(tmp_path):
    with open(FIXTURE, 'rb') as f:
        raw = PaddleUnpickler(f).load()
    raw['bb_0_0.se._conv.weight'] = raw['bb_0_0.conv0._conv.weight']
    src = tmp_path / 'odd.pdparams'
    src.write_bytes(pickle.dumps(raw, protocol=2))
    with pytest.raises(ConversionError, match=r'1 keys could not be placed in a Res2Net model: '
                       r'bb_0_0\.se\._conv\.weight(.|\n)*PaddleClas Res2Net_vd'):
        convert_checkpoint('res2net', str(src), str(tmp_path / 'out.pth'), log=lambda s: None)
    assert not (tmp_path / 'out.pth').exists()
