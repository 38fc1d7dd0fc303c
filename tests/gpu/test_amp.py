"""fp16 and bf16 autocast on the GPU: no NaN or inf in the outputs or gradients of any
benchmarked backbone (ResNeSt's split-attention softmax, FishNet's deep concatenations)."""
import pytest

from mmfish_tools.benchmark.gpu_check import AMP_MODELS, amp_check

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize('name', AMP_MODELS)
def test_autocast_forward_and_backward_are_finite(name):
    import torch
    dtypes = ['fp16'] + (['bf16'] if torch.cuda.is_bf16_supported() else [])
    results = amp_check([name], 'cuda', dtypes, batch=8, size=224)
    assert [r['amp'] for r in results] == dtypes
    for r in results:
        assert r['eval_finite'] and r['train_finite'] and r['grads_finite'], r
        assert r['cosine'] > 0  # same direction (random weights amplify rounding: no more)
        assert r['out_dtype'] in ('torch.float16', 'torch.bfloat16', 'torch.float32')
