"""Memory format, torch.compile, bf16 autocast and ONNX export of every backbone."""
import pytest
import torch

from mmfish.core.layers import is_channels_last
from mmfish.deploy import ONNX_TOLERANCE, export_onnx
from mmfish.testing import max_rel_error, randomize_norms

from tests.families.test_families import CONFIGS, build

FAMILIES = ['fishnet99', 'fishnext150', 'res2net50-v1b', 'resnest50',
            'resnest50-radix1-avd-first']


def _loss(outs):
    return sum(o.float().pow(2).mean() for o in outs)


def _cosine(a, b):
    return torch.nn.functional.cosine_similarity(a.flatten().double(), b.flatten().double(),
                                                 dim=0).item()


@pytest.mark.parametrize('name', CONFIGS)
def test_channels_last_computes_the_nchw_function(name):
    """The channels-last layout changes only the rounding of convolutions and norms
    (their order of additions). Eval outputs agree to 1e-4. Train-mode outputs and the
    gradients of these small random networks amplify rounding (statistics of 2 images, long
    norm chains), so they are compared by direction: a wrong layout, a permuted channel or a
    lost gradient would be far from a cosine of 1 (gradients are taken in eval mode: in
    train mode, e.g. the bias before a norm has a true gradient of 0, all rounding)."""
    fast = randomize_norms(build(name, channels_last=True))
    plain = build(name, channels_last=False)
    plain.load_state_dict(fast.state_dict())
    conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d))
    assert is_channels_last(conv.weight) and not is_channels_last(
        next(m for m in plain.modules() if isinstance(m, torch.nn.Conv2d)).weight)
    x = torch.rand(2, 3, 64, 96)
    for train in (True, False):  # the backward below runs on the eval outputs
        fast.train(train)
        plain.train(train)
        outs_fast, outs_plain = fast(x), plain(x)
        for a, b in zip(outs_fast, outs_plain):
            # the layout is internal: callers (and mmcv ops such as RoIAlign) get NCHW
            assert a.is_contiguous()
            assert (_cosine(a, b) > 0.9999) if train else (max_rel_error(a, b) < 1e-4)
    _loss(outs_fast).backward()
    _loss(outs_plain).backward()
    for (key, p), q in zip(fast.named_parameters(), plain.parameters()):
        assert is_channels_last(p.grad) == is_channels_last(p), key
        assert _cosine(p.grad, q.grad) > 0.9999, key


#: one model per family in make test; FishNeXt (FishNet's blocks, grouped), ResNeSt's other
#: block and its checkpointed forward in make test-all
COMPILED = ['fishnet99', 'res2net50-v1b', 'resnest50'] + [
    pytest.param(name, marks=pytest.mark.slow)
    for name in ['fishnext150', 'resnest50-radix1-avd-first', 'resnest50-with_cp']]


@pytest.mark.parametrize('name', COMPILED)
def test_torch_compile_fullgraph(name):
    """No graph breaks (fullgraph=True), forward and backward; AOT autograd as inductor
    uses it, without inductor's long C++ compilation."""
    import torch._dynamo
    torch._dynamo.reset()
    model = build('resnest50', with_cp=True) if name == 'resnest50-with_cp' else build(name)
    x = torch.rand(2, 3, 64, 64)
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager')
    model.eval()
    with torch.no_grad():
        ref = model(x)
        for a, b in zip(compiled(x), ref):
            assert max_rel_error(a, b) < 1e-5
    model.train()
    _loss(compiled(x)).backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize('name', FAMILIES)
def test_bf16_autocast_on_cpu(name):
    model = randomize_norms(build(name)).eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            outs = model(x)
    for a, b in zip(outs, ref):
        assert a.dtype == torch.bfloat16
        assert max_rel_error(a.float(), b) < 0.05  # bf16 keeps 8 bits of mantissa
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = _loss(model(x))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize('name', FAMILIES)
def test_onnx_export_matches_onnxruntime(name, tmp_path):
    model = randomize_norms(build(name))
    path = tmp_path / f'{name}.onnx'
    result = export_onnx(model, str(path), size=(64, 96), batch=2)
    assert path.is_file() and result['outputs'] == ['level0', 'level1', 'level2', 'level3']
    assert result['max_rel_err'] < ONNX_TOLERANCE
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
