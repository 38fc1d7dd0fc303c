"""The toolboxes' CUDA ops on mmfish's outputs, torch's and mmfish's SyncBN in a 1-process DDP
(NCCL), and the benchmark tool on the GPU."""
import json

import pytest
import torch

from mmfish_tools.benchmark import TRAIN_EQUALITY_TOLERANCE
from mmfish_tools.benchmark.cli import main as benchmark
from mmfish_tools.benchmark.gpu_check import cuda_ops_check, syncbn_ddp_check

pytestmark = pytest.mark.gpu


def test_roi_align_and_nms_on_mmfish_outputs():
    result = cuda_ops_check('cuda', size=224)
    assert result['roi_align_max_rel_err'] <= 1e-4 and result['nms_kept'] > 0


def test_syncbn_in_single_process_ddp():
    errors = syncbn_ddp_check('cuda', size=224, batch=4)
    assert set(errors) == {'mmfish SyncBN', 'torch SyncBatchNorm'}
    assert max(errors.values()) <= 1e-3


@pytest.mark.parametrize('amp', ['fp16', 'bf16'])
def test_benchmark_tool_on_the_gpu(amp, tmp_path):
    if amp == 'bf16' and not torch.cuda.is_bf16_supported():
        pytest.skip(f'{torch.cuda.get_device_name()} has no bf16')
    out = tmp_path / 'run.json'
    assert benchmark(['--device', 'cuda', '--amp', amp, '--models', 'res2net50-w26-s4',
                      '--batch', '2', '--size', '64', '--repeats', '2', '--warmup', '1',
                      '--also', 'nchw', '--peers-channels-last', '--json', str(out)]) == 0
    data = json.loads(out.read_text())
    assert data['settings']['device'] == 'cuda' and data['settings']['amp'] == amp
    assert data['settings']['machine']['gpu'] == torch.cuda.get_device_name(0)
    rows = {r['impl']: r for r in data['rows']}
    assert {'mmfish', 'mmfish NCHW', 'mmpretrain', 'mmpretrain channels-last'} <= set(rows)
    for r in rows.values():
        assert r['peak_mb'] > 0 and min(r['train_s']) > 0
    # the equality check ran on the GPU: float64 (both modes), float32 with TF32 off (eval)
    assert rows['mmpretrain']['max_rel_err'] < TRAIN_EQUALITY_TOLERANCE
