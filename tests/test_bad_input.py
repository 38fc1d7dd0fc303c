"""The bad-input catalogue: files, arguments, tensors and configs a user can get wrong, each
with the outcome it must have. None is silent, none crashes with a bare error from deep inside,
none loses a file. (Crafted checkpoints: tests/checkpoint/test_weights_only.py.)"""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from mmfish.checkpoint import CheckpointError, ConversionError
from mmfish.weights import convert_checkpoint
from mmfish.models import FishNet, Res2Net, ResNeSt

from tests.conftest import build_in_scope

SMALL = dict(base_channels=8, stem_channels=16)


def _small(cls, **kwargs):
    if cls is FishNet:
        return FishNet(depth=99, base_channels=8, **kwargs)
    return cls(depth=50, **SMALL, **kwargs)


def _official_resnest(path, **changes):
    """A ResNeSt-50 checkpoint in the official layout (mmfish's keys renamed back)."""
    from mmfish.variants import VARIANTS
    from tests.weights.test_conversion import _random_official_checkpoint
    state = _random_official_checkpoint(VARIANTS['resnest50'], path)
    for key, value in changes.items():
        if value is None:
            state.pop(key)
        else:
            state[key] = value
    torch.save(state, path)
    return state


def _convert(src, dst, family='resnest'):
    # ResNeSt-50's shapes are also those of resnest50-fast-2s1x64d: name the variant
    return convert_checkpoint(family, str(src), str(dst), log=lambda s: None,
                              variant='resnest50' if family == 'resnest' else None)


# -- silently wrong: refused instead ----------------------------------------------------------
@pytest.mark.parametrize('change, message', [
    (lambda w: w.long(), r'layer1\.0\.conv1\.weight \(torch\.int64, not floating point\)'),
    (lambda w: w.index_fill(0, torch.tensor([0]), float('nan')), r'layer1\.0\.conv1\.weight '
     r'\(\d+ NaN, 0 inf'),
    (lambda w: w.index_fill(0, torch.tensor([1]), float('inf')), r'layer1\.0\.conv1\.weight '
     r'\(0 NaN, \d+ inf'),
], ids=['int64', 'nan', 'inf'])
def test_weights_that_are_not_finite_floats_are_refused(tmp_path, change, message):
    src, dst = tmp_path / 'resnest.pth', tmp_path / 'out.pth'
    state = _official_resnest(src)
    _official_resnest(src, **{'layer1.0.conv1.weight': change(state['layer1.0.conv1.weight'])})
    with pytest.raises(ConversionError, match=message):
        _convert(src, dst)
    assert not dst.exists()
    # the same tensors in an mmfish checkpoint loaded with init_cfg=Pretrained
    model = ResNeSt(depth=50)
    bad = model.state_dict()
    bad['layer1.0.conv1.weight'] = change(bad['layer1.0.conv1.weight'])
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in bad.items()}}, tmp_path / 'm.pth')
    model = ResNeSt(depth=50, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'm.pth'),
                                            prefix='backbone.'))
    before = model.layer1[0].conv1.weight.clone()
    with pytest.raises(CheckpointError, match='nothing was loaded.*' + message):
        model.init_weights()
    assert torch.equal(model.layer1[0].conv1.weight, before)


@pytest.mark.parametrize('cls', [ResNeSt, Res2Net, FishNet])
@pytest.mark.parametrize('name, value', [('norm_eval', 'False'), ('with_cp', 'no'),
                                         ('zero_init_residual', 1),
                                         ('deep_stem', 'False'), ('avg_down', 0)])
def test_boolean_arguments_take_only_booleans(cls, name, value):
    if cls is FishNet and name in ('deep_stem', 'avg_down'):
        with pytest.raises(ValueError, match=f"unknown argument '{name}'"):
            _small(cls, **{name: value})
        return
    with pytest.raises(ValueError, match=f'{name}={value!r} is invalid: it must be True or False'):
        _small(cls, **{name: value})


@pytest.mark.parametrize('value', ['false', 'True', 1, None])
def test_channels_last_takes_true_false_or_auto(value):
    with pytest.raises(ValueError, match=f"channels_last={value!r} is invalid: it must be True, "
                       "False or 'auto'"):
        _small(ResNeSt, channels_last=value)


def test_resnest_avd_flags_take_only_booleans():
    for name in ('avd', 'avd_first'):
        with pytest.raises(ValueError, match=f"{name}='False' is invalid"):
            _small(ResNeSt, **{name: 'False'})


# -- unknown arguments: refused by the backbone, with the closest valid name ------------------
@pytest.mark.parametrize('cls', [ResNeSt, Res2Net, FishNet])
def test_misspelled_argument_names_the_closest_valid_one(cls):
    with pytest.raises(ValueError) as info:
        _small(cls, norm_cgf=dict(type='BN'))
    message = str(info.value)
    assert message.startswith(f"{cls.__name__} got unknown argument 'norm_cgf' (did you mean "
                              f"'norm_cfg'?)")
    assert 'valid arguments: ' in message and 'frozen_stages' in message


@pytest.mark.parametrize('name', ['dcn', 'plugins', 'style', 'pretrained'])
def test_mmdet_arguments_not_taken_are_named_as_such(name):
    """Res2Net-DLA does not take mmdet's ResNet arguments (ResNeSt, Res2Net and FishNet do:
    tests/core/test_contract.py)."""
    from mmfish.models import Res2NetDLA
    with pytest.raises(ValueError, match=f"'{name}' \\(.*mmdet's ResNet.*not supported by "
                                         f'Res2NetDLA; Res2Net, ResNeSt, FishNet take it'):
        Res2NetDLA(depth=60, **{name: None})


# -- norm configs -----------------------------------------------------------------------------
@pytest.mark.parametrize('norm_cfg, message', [
    (dict(type='GN', num_groups=0), r'norm_cfg\["num_groups"\]=0 is invalid: it must be an '
                                    r'integer >= 1'),
    (dict(type='GN', num_groups='32'), r"norm_cfg\[\"num_groups\"\]='32' is invalid"),
    (dict(type='GN'), 'GroupNorm needs num_groups'),
    (dict(type='BatchNorm'), r"unknown norm layer type 'BatchNorm'.*valid types: .*BN"),
    (dict(type='SynBN'), r"did you mean 'SyncBN'\?"),
    ('BN', r"norm_cfg='BN' is invalid: give a dict .*norm_cfg=dict\(type='BN'\)"),
    (dict(requires_grad=True), 'has no type'),
])
@pytest.mark.parametrize('cls', [ResNeSt, FishNet])
def test_norm_cfg_errors_name_the_argument(cls, norm_cfg, message):
    with pytest.raises(ValueError, match=message):
        _small(cls, norm_cfg=norm_cfg)


# -- inputs -----------------------------------------------------------------------------------
@pytest.mark.parametrize('cls', [ResNeSt, Res2Net, FishNet])
def test_an_empty_batch_gives_empty_outputs(cls):
    model = _small(cls).eval()
    size = 64
    with torch.no_grad():
        full = model(torch.rand(2, 3, size, size))
        empty = model(torch.rand(0, 3, size, size))
    assert [tuple(o.shape) for o in empty] == [(0, *o.shape[1:]) for o in full]


# -- files: converter inputs ------------------------------------------------------------------
def test_empty_file_is_named(tmp_path):
    src = tmp_path / 'resnest50-528c19ca.pth'
    src.write_bytes(b'')
    with pytest.raises(ConversionError, match=r'resnest50-528c19ca\.pth is empty \(0 bytes\)'):
        _convert(src, tmp_path / 'out.pth')
    model = ResNeSt(depth=50, init_cfg=dict(type='Pretrained', checkpoint=str(src)))
    with pytest.raises(CheckpointError, match=r'resnest50-528c19ca\.pth is empty \(0 bytes\)'):
        model.init_weights()


def _mmdet_resnet_mask_rcnn(path):
    import mmdet
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(os.path.dirname(mmdet.__file__), '.mim', 'configs',
                                       'mask_rcnn', 'mask-rcnn_r50_fpn_1x_coco.py'))
    model = build_in_scope('mmdet', cfg.model)
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)


@pytest.mark.parametrize('family', ['fishnet', 'res2net', 'resnest'])
def test_plain_resnet_checkpoints_are_named_as_resnet(tmp_path, family):
    """A torchvision ResNet-50 and an mmdet ResNet-50 Mask R-CNN (whose mask head has
    ``convs.0`` layers, as Res2Net blocks do) are ResNets, not a family mmfish converts."""
    import torchvision
    tv, det = tmp_path / 'resnet50.pth', tmp_path / 'mask_rcnn_r50.pth'
    torch.save(torchvision.models.resnet50().state_dict(), tv)
    _mmdet_resnet_mask_rcnn(det)
    for src in (tv, det):
        with pytest.raises(ConversionError, match='plain ResNet/ResNeXt checkpoint.*mmfish '
                                                  'converts FishNet, Res2Net and ResNeSt'):
            _convert(src, tmp_path / 'out.pth', family)
        assert not (tmp_path / 'out.pth').exists()


@pytest.mark.parametrize('drop, message', [
    ('conv1.', r"lacks 'backbone\.conv1\.weight', which every ResNeSt checkpoint has"),
    ('fc.bias', r'the classifier .* lacks head\.fc\.bias'),
])
def test_missing_keys_are_named(tmp_path, drop, message):
    src = tmp_path / 'resnest.pth'
    state = _official_resnest(src)
    torch.save({k: v for k, v in state.items() if not k.startswith(drop)}, src)
    with pytest.raises(ConversionError, match=message):
        _convert(src, tmp_path / 'out.pth')


# -- files: converter outputs -----------------------------------------------------------------
def test_source_behind_a_symlink_is_never_overwritten(tmp_path):
    real = tmp_path / 'resnest50.pth'
    _official_resnest(real)
    content = real.read_bytes()
    link = tmp_path / 'link.pth'
    link.symlink_to(real)
    for src, dst in ((link, real), (real, link)):
        with pytest.raises(ConversionError, match='is the source checkpoint'):
            _convert(src, dst)
    hard = tmp_path / 'hard.pth'
    os.link(real, hard)
    with pytest.raises(ConversionError, match='is the source checkpoint'):
        _convert(hard, real)
    assert real.read_bytes() == content


def test_destination_checked_before_the_work(tmp_path, monkeypatch):
    src = tmp_path / 'resnest50.pth'
    _official_resnest(src)
    calls = []
    monkeypatch.setattr(torch, 'load', lambda *a, **k: calls.append(a))  # must not be reached
    (tmp_path / 'folder').mkdir()
    with pytest.raises(ConversionError, match=r'the output .*folder is a directory: give a '
                                              r'file name'):
        _convert(src, tmp_path / 'folder')
    (tmp_path / 'file').write_text('x')
    with pytest.raises(ConversionError, match='is not a directory'):
        _convert(src, tmp_path / 'file' / 'out.pth')
    assert not calls


def test_missing_output_folder_is_created(tmp_path):
    src = tmp_path / 'resnest50.pth'
    _official_resnest(src)
    lines = []
    convert_checkpoint('resnest', str(src), str(tmp_path / 'checkpoints' / 'out.pth'),
                       log=lines.append, variant='resnest50')
    assert (tmp_path / 'checkpoints' / 'out.pth').is_file()
    assert f'created {tmp_path / "checkpoints"}' in lines


@pytest.mark.parametrize('umask', [0o022, 0o077, 0o002])
def test_output_mode_follows_the_umask(tmp_path, umask):
    from mmfish.checkpoint import save_atomic
    old = os.umask(umask)
    try:
        save_atomic({'w': torch.zeros(1)}, str(tmp_path / 'out.pth'))
    finally:
        os.umask(old)
    assert (tmp_path / 'out.pth').stat().st_mode & 0o777 == 0o666 & ~umask


_SLOW_WRITER = '''
import signal, sys, time
# Ctrl-C raises KeyboardInterrupt, as in a terminal, even where the suite runs as a background
# job (whose shell makes its children ignore SIGINT, which Python then leaves ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)
from mmfish.checkpoint.io import write_atomic
def write(f):
    f.write(b'x' * 1000); f.flush()
    print('writing', flush=True)
    time.sleep(60)
write_atomic(sys.argv[1], write)
'''


@pytest.mark.parametrize('sig', ['SIGINT', 'SIGTERM', 'SIGKILL'])
def test_interrupted_write_leaves_no_temporary_file(tmp_path, sig):
    """SIGINT and SIGTERM remove the temporary file at once; SIGKILL cannot be caught, and the
    next write into the folder removes what it left. The destination stays intact."""
    from mmfish.checkpoint.io import check_destination
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'previous')
    proc = subprocess.Popen([sys.executable, '-c', _SLOW_WRITER, str(dst)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'writing'
    parts = [p for p in os.listdir(tmp_path) if p.endswith('.part')]
    assert parts == [f'.out.pth.{proc.pid}.part']
    proc.send_signal(getattr(signal, sig))
    proc.wait(timeout=30)
    assert proc.returncode != 0
    left = [p for p in os.listdir(tmp_path) if p.endswith('.part')]
    if sig == 'SIGKILL':
        assert left == parts
        lines = []
        check_destination(str(tmp_path / 'other.pth'), log=lines.append)
        assert lines == [f'removed {tmp_path / parts[0]}, left by an interrupted write']
        left = [p for p in os.listdir(tmp_path) if p.endswith('.part')]
    assert left == [] and dst.read_bytes() == b'previous'


def test_temporary_file_of_a_live_writer_is_kept(tmp_path):
    from mmfish.checkpoint.io import part_path, remove_stale_parts
    live = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])
    try:
        path = part_path(str(tmp_path / 'out.pth'), pid=live.pid)
        open(path, 'w').close()
        time.sleep(0.1)
        assert remove_stale_parts(str(tmp_path), log=lambda s: None) == []
        assert os.path.exists(path)
    finally:
        live.kill()
        live.wait()


# -- configs ----------------------------------------------------------------------------------
def test_misspelled_mmfish_type_lists_the_registered_types():
    import mmdet.models  # noqa: F401
    from mmdet.registry import MODELS
    with pytest.raises(KeyError, match=r"'mmfish\.ResNeSx' is not in mmfish's model registry; "
                                       r"did you mean 'mmfish\.ResNeSt'\? Registered: .*"
                                       r'mmfish\.FishNet.*mmfish\.Res2Net'):
        MODELS.build(dict(type='mmfish.ResNeSx', depth=50))
    # names MMEngine resolves by import still work, and unscoped lookups are unchanged
    from mmfish.registry import MODELS as MMFISH
    assert MODELS.get('mmfish.ResNeSt') is ResNeSt
    assert MMFISH.get('BN') is torch.nn.BatchNorm2d
