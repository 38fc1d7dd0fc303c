"""What the export refuses, and how: an output that is one of its inputs (the config, the
checkpoint, through a link), NaN or infinite values (inputs, weights, either side's outputs),
sizes and batches out of range, configs and checkpoints that are not what they should be;
and checkpoint names (``mmfish://``) resolved as everywhere else. Each refusal is a clear
message (``error: ...`` and ``nothing was written.`` from ``tools/export.py``, exit status 1,
or 2 for bad arguments), never a traceback, and leaves the files as they were."""
import math
import os
import subprocess
import sys

import pytest
import torch

from mmfish.checkpoint.io import CheckpointError, check_destination
from mmfish.deploy import NonFiniteOutput, export_onnx, export_whole, load_model
from mmfish.deploy.cli import main
from mmfish.deploy.export import (
    MAX_BATCH,
    MAX_PIXELS,
    MAX_SIDE,
    MIN_SIDE,
    check_input_size,
    onnx_max_rel_error,
)
from mmfish.deploy.wrappers import wrap
from mmfish.testing import max_rel_error, non_finite

from tests.conftest import REPO

TOOL = REPO / 'tools' / 'export.py'
CONFIG = REPO / 'configs' / 'tiny' / 'demo' / 'resnest50-w16_1xb16-60i_tiny-imagenet.py'


def _tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True,
                          text=True, cwd=REPO)


def _refused(res, code, *words):
    """``res`` ended with ``code`` and one ``error:`` message holding ``words``, without a
    traceback, saying that nothing was written."""
    assert res.returncode == code, (res.returncode, res.stderr[-3000:])
    assert 'Traceback' not in res.stderr, res.stderr[-3000:]
    assert 'error: ' in res.stderr and 'nothing was written.' in res.stderr, res.stderr
    for word in words:
        assert word in res.stderr, (word, res.stderr)


class _Result:
    """What :func:`main` returned and printed, in the form of ``subprocess.run``'s result."""

    def __init__(self, argv, capsys):
        self.returncode = main([str(a) for a in argv])
        self.stderr = capsys.readouterr().err


@pytest.fixture
def inputs(tmp_path):
    """A config (inheriting the demo's classifier twin) and a checkpoint file, in tmp_path."""
    config = tmp_path / 'cls.py'
    config.write_text(f'_base_ = {str(CONFIG)!r}\n')
    ckpt = tmp_path / 'weights.pth'
    ckpt.write_bytes(b'weights')  # refused before it is read
    return config, ckpt


# -- item 2: outputs that are inputs -----------------------------------------------------------
def test_check_destination_refuses_every_input(tmp_path):
    """check_destination takes one source (the old call: 'the source checkpoint'), any
    iterable of sources, or a mapping naming each; it compares real paths and hard links."""
    a, b = tmp_path / 'a.pth', tmp_path / 'b.py'
    a.write_bytes(b'a')
    b.write_text('b = 1')
    quiet = dict(log=lambda s: None)
    with pytest.raises(CheckpointError, match='is the source checkpoint'):
        check_destination(str(a), str(a), **quiet)
    for sources in ([str(b), str(a)], (p for p in [None, a]), {b, a}):
        with pytest.raises(CheckpointError, match=r'is the input .*a\.pth: writing it would '
                                                  r'destroy the input'):
            check_destination(str(a), sources, **quiet)
    with pytest.raises(CheckpointError, match=r'is the config .*b\.py'):
        check_destination(str(b), dict(config=str(b), checkpoint=None), **quiet)
    (tmp_path / 'link.py').symlink_to(b)
    os.link(a, tmp_path / 'hard.pth')
    with pytest.raises(CheckpointError, match='through a link to'):
        check_destination(str(tmp_path / 'link.py'), dict(config=b), **quiet)
    with pytest.raises(CheckpointError, match='is the checkpoint'):
        check_destination(str(tmp_path / 'hard.pth'), dict(checkpoint=str(a)), **quiet)
    out = str(tmp_path / 'out.onnx')
    assert check_destination(out, [str(a), str(b), None], **quiet) == out
    assert check_destination(out, str(a), **quiet) == out and check_destination(out, **quiet)
    assert a.read_bytes() == b'a' and b.read_text() == 'b = 1'


def test_export_refuses_to_write_over_its_config_or_checkpoint(inputs, tmp_path):
    config, ckpt = inputs
    text = config.read_text()
    with pytest.raises(CheckpointError, match='is the checkpoint'):
        export_whole(str(config), str(ckpt), checkpoint=str(ckpt))
    with pytest.raises(CheckpointError, match='is the config'):
        export_whole(str(config), str(config), checkpoint=str(ckpt))
    (tmp_path / 'ck.onnx').symlink_to(ckpt)
    with pytest.raises(CheckpointError, match='is the checkpoint .*through a link'):
        export_whole(str(config), str(tmp_path / 'ck.onnx'), checkpoint=str(ckpt))
    assert ckpt.read_bytes() == b'weights' and config.read_text() == text


def test_tool_refuses_to_write_over_its_inputs(inputs, capsys):
    """``tools/export.py CONFIG CK --out CK`` (and ``--out CONFIG``): exit 1, both intact."""
    config, ckpt = inputs
    text = config.read_text()
    _refused(_tool(config, ckpt, '--out', ckpt), 1, f'the output {ckpt} is the checkpoint')
    assert main([str(config), str(ckpt), '--out', str(config)]) == 1
    assert f'the output {config} is the config' in capsys.readouterr().err
    assert ckpt.read_bytes() == b'weights' and config.read_text() == text


# -- item 7: NaN and infinities ----------------------------------------------------------------
def test_max_rel_error_is_never_nan():
    """max_rel_error gives inf (never NaN, which passes no comparison) when a value is not
    finite on either side; non_finite says where."""
    x = torch.ones(2, 3)
    nan = x.clone()
    nan[0, 1] = math.nan
    inf = x.clone()
    inf[1, 2] = math.inf
    for ours, theirs in [(nan, x), (x, nan), (inf, x), (x, inf), (inf, inf), (nan, nan)]:
        err = max_rel_error(ours, theirs)
        assert err == math.inf and not err < 1e-4
    assert max_rel_error([x, x], [x, nan]) == math.inf
    assert max_rel_error(x, x) == 0.0 and max_rel_error(x * 1.5, x) == 0.5
    assert non_finite([x, nan]) == '1 NaN in output 1' and non_finite(x) == ''
    assert non_finite(torch.stack([nan, inf])) == '1 NaN, 1 infinite in output 0'


def _sqrt_graph(path):
    """An ONNX graph ``y = sqrt(x)``: NaN for negative inputs in onnxruntime."""
    import onnx
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info('out', TensorProto.FLOAT, [1, 3, 4, 4])
    graph = helper.make_graph([helper.make_node('Sqrt', ['images'], ['out'])], 'g', [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def test_check_fails_on_non_finite_outputs_of_either_side(tmp_path):
    """onnxruntime's NaN (the graph) against PyTorch's finite output, and PyTorch's NaN
    against onnxruntime's finite output: both refused, naming the side and the output."""
    path = _sqrt_graph(tmp_path / 'sqrt.onnx')
    x = -torch.ones(1, 3, 4, 4)
    with pytest.raises(NonFiniteOutput, match=r"onnxruntime's output 'out' holds 48 NaN"):
        onnx_max_rel_error(path, torch.nn.Identity(), x)

    class Sqrt(torch.nn.Module):
        def forward(self, x):
            return x.sqrt()

    with pytest.raises(NonFiniteOutput, match=r"PyTorch's output 'out' holds 48 NaN"):
        onnx_max_rel_error(path, Sqrt(), x)
    assert onnx_max_rel_error(path, Sqrt(), -x) == 0.0


def test_nan_weights_and_inputs_are_refused(tmp_path):
    """NaN weights: refused before the export (PyTorch's output is checked first), also by
    the backbone export; NaN or infinite inputs: refused at once. No file is left."""
    model, cfg, _ = load_model(str(CONFIG))
    with torch.no_grad():
        model.head.fc.bias[1] = math.nan
    out = tmp_path / 'x.onnx'
    with pytest.raises(NonFiniteOutput, match=r"PyTorch's output 'logits' holds 1 NaN on the "
                                              r'input of shape \(1, 3, 64, 64\) \(the weights'):
        export_whole(cfg, str(out), model=model, size=(64, 64))
    with torch.no_grad():
        model.head.fc.bias[1] = 0.0
    x = torch.rand(1, 3, 64, 64) * 255
    x[0, 0, 0, 0] = math.inf
    with pytest.raises(ValueError, match=r'input of shape \(1, 3, 64, 64\) holds 1 infinite'):
        export_whole(cfg, str(out), model=model, inputs=[x])
    conv = torch.nn.Conv2d(3, 4, 3)
    with torch.no_grad():
        conv.weight[0, 0, 0, 0] = math.nan
    with pytest.raises(NonFiniteOutput, match="PyTorch's output 'level0' holds"):
        export_onnx(conv, str(out), size=(32, 32))
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match='tolerance nan: give a finite number above 0'):
        export_whole(cfg, str(out), model=model, tolerance=math.nan)


def test_tool_refuses_a_checkpoint_of_nan_weights(tmp_path, capsys):
    """A checkpoint holding a NaN weight is refused as it loads, naming the tensor (the
    inferencers load the same way); NaN reaching the outputs is the test above."""
    model, _, _ = load_model(str(CONFIG))
    state = model.state_dict()
    state['head.fc.weight'][0, 0] = math.nan
    ckpt = tmp_path / 'nan.pth'
    torch.save(dict(state_dict=state), ckpt)
    out = tmp_path / 'nan.onnx'
    _refused(_Result([CONFIG, ckpt, '--out', out, '--size', 64, 64], capsys), 1,
             f'checkpoint {ckpt}: 1 tensor cannot be weights: head.fc.weight (')
    assert not out.exists()


# -- item 11: sizes, batches, configs and checkpoints ------------------------------------------
@pytest.mark.parametrize('size,batch,message', [
    ((0, 64), 1, 'size 0 x 64 is out of range'),
    ((64, ), 1, 'size (64,): give two integers'),
    ((64.0, 64), 1, 'size (64.0, 64): give two integers'),
    ((True, 64), 1, 'give two integers'),
    ('64', 1, 'give two integers'),
    ((MAX_SIDE + 1, 64), 1, f'size {MAX_SIDE + 1} x 64 is out of range'),
    ((64, 64), 0, 'batch 0: give an integer from 1 to'),
    ((64, 64), 1.0, 'batch 1.0: give an integer'),
    ((64, 64), MAX_BATCH + 1, f'batch {MAX_BATCH + 1}: give an integer'),
    ((4096, 4096), 2, f'more than {MAX_PIXELS:,}'),
])
def test_sizes_and_batches_out_of_range_are_refused(size, batch, message, tmp_path):
    """Each refusal names the valid range, before anything is built or written."""
    valid = (f'valid: height and width {MIN_SIDE} to {MAX_SIDE} pixels, batch 1 to '
             f'{MAX_BATCH}, and batch x height x width at most {MAX_PIXELS:,} pixels')
    with pytest.raises(ValueError) as info:
        export_whole(str(CONFIG), str(tmp_path / 'x.onnx'), size=size, batch=batch)
    assert message in str(info.value) and valid in str(info.value)
    with pytest.raises(ValueError, match='valid: height and width'):
        check_input_size(size, batch)
    assert list(tmp_path.iterdir()) == []


def test_tool_bounds_size_and_batch(tmp_path, capsys):
    """A huge --size or --batch: exit 2 with the valid range (not 'can't allocate')."""
    out = tmp_path / 'x.onnx'
    _refused(_tool(CONFIG, '--out', out, '--size', 100000, 100000), 2,
             '--size 100000 x 100000 is out of range; valid: height and width 32 to 4096')
    _refused(_Result([CONFIG, '--out', out, '--batch', 100000], capsys), 2,
             '--batch 100000: give an integer from 1 to 256')
    _refused(_Result([CONFIG, '--out', out, '--size', 4096, 4096, '--batch', 2], capsys), 2,
             '--batch 2 of 4096 x 4096 images is 33,554,432 pixels')
    _refused(_Result([CONFIG, '--out', out, '--size', 16, 64], capsys), 2,
             '--size 16 x 64 is out of range')
    assert not out.exists()
    from mmfish.deploy.cli import parser
    assert 'each 32 to 4096' in parser().format_help()


def test_tool_refuses_configs_and_checkpoints_that_are_not(tmp_path, capsys):
    """A config with a syntax error, a checkpoint given as the config, a folder or a missing
    file as the checkpoint or the config, an output inside a file: one clear message, exit 1,
    nothing written."""
    out = tmp_path / 'x.onnx'
    bad = tmp_path / 'bad.py'
    bad.write_text('model = dict(type=\n')
    _refused(_tool(bad, '--out', out), 1, f'config {bad} does not load: a syntax error')
    ckpt = tmp_path / 'w.pth'
    torch.save({'state_dict': {}}, ckpt)
    _refused(_Result([ckpt, CONFIG, '--out', out], capsys), 1,
             'is a checkpoint (torch-zip), not a config: the config comes first')
    _refused(_Result([CONFIG, tmp_path, '--out', out], capsys), 1,
             f'checkpoint {tmp_path} is a directory')
    _refused(_Result([CONFIG, tmp_path / 'none.pth', '--out', out], capsys), 1,
             f'checkpoint {tmp_path / "none.pth"}: no such file')
    _refused(_Result([tmp_path, '--out', out], capsys), 1, f'config {tmp_path} is a directory')
    _refused(_Result([CONFIG, '--out', ckpt / 'x.onnx'], capsys), 1,
             f'cannot write {ckpt / "x.onnx"}: {ckpt} is not a directory')
    assert not out.exists()


RESNEST14 = REPO / 'configs' / 'mmpretrain' / 'resnest' / 'resnest14d_64xb128_in1k.py'


def test_a_checkpoint_name_is_resolved(zoo, tmp_path):
    """``mmfish://resnest14d`` as the export's checkpoint: fetched from the mirror,
    converted and loaded strictly (not 'no such file'); an unknown name says which are
    valid."""
    model, _, task = load_model(str(RESNEST14), 'mmfish://resnest14d')
    converted = zoo[0] / 'checkpoints' / 'resnest14d_mmfish.pth'
    assert task == 'classifier' and converted.is_file()
    state = torch.load(converted, weights_only=True)['state_dict']
    assert torch.equal(model.state_dict()['head.fc.weight'], state['head.fc.weight'])
    with pytest.raises(CheckpointError, match="unknown model 'resnest15d'"):
        load_model(str(RESNEST14), 'mmfish://resnest15d')
    # the file the name resolves to is an input too
    with pytest.raises(CheckpointError, match='is the checkpoint'):
        export_whole(str(RESNEST14), str(converted), checkpoint='mmfish://resnest14d')


@pytest.mark.slow
def test_tool_exports_from_a_checkpoint_name(zoo, tmp_path, capsys):
    out = tmp_path / 'resnest14d.onnx'
    assert main([str(RESNEST14), 'mmfish://resnest14d', '--out', str(out), '--size', '64',
                 '64']) == 0
    assert f'exported the classifier (static input size) to {out}' in capsys.readouterr().out
    import onnxruntime as ort
    x = torch.rand(1, 3, 64, 64) * 255
    got = ort.InferenceSession(str(out), providers=['CPUExecutionProvider']).run(
        None, {'images': x.numpy()})[0]
    model, _, _ = load_model(str(RESNEST14), 'mmfish://resnest14d')  # from the cache now
    with torch.no_grad():  # the converted weights, not the config's initial ones
        assert max_rel_error(torch.from_numpy(got), wrap(model, 'classifier')(x)[0]) < 1e-4
