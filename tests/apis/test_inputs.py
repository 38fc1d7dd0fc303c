"""What the inferencer API (mmfish.apis) and tools/infer.py refuse before any model is built,
and how: outputs that are inputs, images out of bounds (too many pixels, read from the header
alone; empty, too small, too elongated), a directory or FIFO where a file belongs, an output
folder that cannot be written, a config that does not load, a checkpoint given as the config,
a device that is not there. Each refusal is a ValueError (FileNotFoundError for a missing
file) naming what was given and what is valid; the tool prints it as ``error: ...`` and exits
with status 2, without a traceback. No test here needs trained weights: every refusal comes
before the checkpoint would be read."""
import os
import runpy
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

import mmfish.apis.inference as inference
from mmfish.apis import (
    MAX_IMAGE_PIXELS,
    CheckedInputs,
    check_device,
    check_image,
    check_inputs,
    check_out_dir,
    infer,
    load_config,
    picture_names,
    resolve_checkpoint,
)
from mmfish.apis.images import header_size

from tests.conftest import REPO

TOOL = REPO / 'tools' / 'infer.py'
DEMO = REPO / 'configs' / 'tiny' / 'demo'
CLS = DEMO / 'resnest50-w16_1xb16-60i_tiny-imagenet.py'
DET = DEMO / 'mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco.py'


@pytest.fixture(autouse=True)
def _no_build(monkeypatch):
    """Every refusal here comes before the inferencer is built."""
    def build(*args, **kwargs):
        raise AssertionError('the inferencer was built')
    monkeypatch.setattr(inference, '_build', build)


@pytest.fixture(autouse=True)
def _default_bounds(monkeypatch):
    for name in ('MMFISH_MAX_IMAGE_PIXELS', 'MMFISH_MAX_IMAGE_ASPECT'):
        monkeypatch.delenv(name, raising=False)


def _png(path, width: int, height: int):
    """A PNG file declaring ``width`` x ``height`` in its header, with one row of data only:
    a reader that decoded it would allocate the whole image first."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr)
                     + chunk(b'IDAT', zlib.compress(b'\0' * (width + 1))) + chunk(b'IEND', b''))
    return path


def _image(path, width: int = 16, height: int = 12):
    Image.new('RGB', (width, height), (200, 30, 30)).save(path)
    return path


def _run_tool(capsys, monkeypatch, *args):
    """tools/infer.py in this process: (exit status, stderr)."""
    monkeypatch.setattr(sys, 'argv', ['infer.py', *map(str, args)])
    with pytest.raises(SystemExit) as exit_code:
        runpy.run_path(str(TOOL), run_name='__main__')
    return exit_code.value.code, capsys.readouterr().err


def _refused(code, err, *words):
    assert code == 2, err
    assert err.startswith('error: ') and 'Traceback' not in err, err
    for word in words:
        assert word in err, (word, err)


# -- item 2: pictures are unique per input, and never drawn over an input ---------------------
def test_picture_names_are_unique_per_input():
    """The file's name without its suffix, ``array_<index>`` for an array; inputs sharing a
    name (ignoring case) get their index appended, again while names still clash."""
    array = np.zeros((8, 8, 3), np.uint8)
    assert picture_names(['x/a.jpg', 'b.png', array]) == ['a', 'b', 'array_0002']
    assert picture_names(['x/a.jpg', 'y/a.jpg', 'z/A.png', 'c.jpg']) == [
        'a_0000', 'a_0001', 'A_0002', 'c']
    assert picture_names(['x/a.jpg', 'y/a.jpg', 'a_0001.jpg']) == [
        'a_0000', 'a_0001_0001', 'a_0001_0002']
    assert picture_names(['a.jpg', 'a.jpg']) == ['a_0000', 'a_0001']


def test_two_inputs_of_one_name_get_two_pictures(tmp_path):
    (tmp_path / 'x').mkdir()
    (tmp_path / 'y').mkdir()
    a, b = _image(tmp_path / 'x' / 'a.jpg'), _image(tmp_path / 'y' / 'a.jpg')
    checked = check_inputs(str(DET), str(a), [str(a), str(b)], out_dir=str(tmp_path / 'out'))
    vis = tmp_path / 'out' / 'vis'
    assert checked.pictures == [str(vis / 'a_0000.jpg'), str(vis / 'a_0001.jpg')]
    checked = check_inputs(str(CLS), str(a), [str(a)], out_dir=str(tmp_path / 'out'))
    assert checked.pictures == [str(vis / 'a.png')]  # mmpretrain draws PNG
    assert not (tmp_path / 'out').exists()  # checked, not created


def test_picture_over_its_input_is_refused(tmp_path):
    """An input where its picture (or another input's) would go: the file itself, a symlink
    to it, a hard link; refused whatever the toolbox's suffix, before anything runs; so is
    the checkpoint, and a folder in a picture's place."""
    vis = tmp_path / 'out' / 'vis'
    vis.mkdir(parents=True)
    own = _image(vis / 'x.jpg')
    with pytest.raises(ValueError, match='picture of input 0 would be drawn over its own input'):
        check_inputs(str(DET), 'unused.pth', [str(own)], out_dir=str(tmp_path / 'out'))
    elsewhere = _image(tmp_path / 'y.png')
    (vis / 'q.png').symlink_to(elsewhere)  # where the picture of q.jpg goes
    with pytest.raises(ValueError, match=r'picture of input 1 would be drawn over input 0'):
        check_inputs(str(CLS), 'unused.pth', [str(elsewhere), str(_image(tmp_path / 'q.jpg'))],
                     out_dir=str(tmp_path / 'out'))
    hard = _image(tmp_path / 'z.png')
    os.link(hard, vis / 'z.png')
    with pytest.raises(ValueError, match='over its own input'):
        check_inputs(str(CLS), 'unused.pth', [str(hard)], out_dir=str(tmp_path / 'out'))
    checkpoint = vis / 'v.png'  # where the picture of v.jpg goes
    checkpoint.write_bytes(b'weights')
    with pytest.raises(ValueError, match=f'picture of input 0 would be drawn over the '
                       f'checkpoint {checkpoint}'):
        check_inputs(str(CLS), str(checkpoint), [str(_image(tmp_path / 'v.jpg'))],
                     out_dir=str(tmp_path / 'out'))
    assert checkpoint.read_bytes() == b'weights'
    (vis / 'w.png').mkdir()
    with pytest.raises(ValueError, match=r'picture of input 0, .*w.png, is a folder'):
        check_inputs(str(CLS), 'unused.pth', [str(_image(tmp_path / 'w.jpg'))],
                     out_dir=str(tmp_path / 'out'))


def test_tool_refuses_to_draw_over_its_input(tmp_path, capsys, monkeypatch):
    """The issue's case: ``tools/infer.py ... <out>/vis/x.jpg --out <out>``; the input is
    left as it was."""
    vis = tmp_path / 'out' / 'vis'
    vis.mkdir(parents=True)
    image = _image(vis / 'x.jpg')
    before = image.read_bytes()
    code, err = _run_tool(capsys, monkeypatch, DET, tmp_path / 'none.pth', image, '--out',
                          tmp_path / 'out')
    _refused(code, err, 'would be drawn over its own input', str(image))
    assert image.read_bytes() == before


# -- item 6: image sizes --------------------------------------------------------------------
def test_image_sizes_are_bounded(monkeypatch):
    """Empty, too small and too elongated arrays are refused, naming the index, the size and
    the valid range; the smallest and most elongated accepted ones pass."""
    def array(h, w):
        return np.zeros((h, w, 3), np.uint8)
    for h, w, words in [(0, 0, 'an empty image'), (0, 5, 'an empty image'),
                        (1, 1, 'too small'), (1, 64, 'too small'), (1, 20000, 'too small'),
                        (8, 20000, '2500.0 times its short one, more than the 32 allowed '
                         '($MMFISH_MAX_IMAGE_ASPECT'), (2, 65, '32.5 times'),
                        (257, 8, '32.1 times')]:
        with pytest.raises(ValueError, match=r'input 3: an array is ' + f'{w}x{h} pixels') as e:
            check_image(array(h, w), 3)
        assert words in str(e.value)
        assert 'too small' not in words or 'at least 2 pixels' in str(e.value)
    for h, w in [(2, 2), (2, 64), (64, 2), (8, 256)]:
        assert check_image(array(h, w), 0).shape == (h, w, 3)
    monkeypatch.setenv('MMFISH_MAX_IMAGE_ASPECT', '1000')
    assert check_image(array(2, 2000), 0).shape == (2, 2000, 3)
    monkeypatch.setenv('MMFISH_MAX_IMAGE_PIXELS', '100')
    with pytest.raises(ValueError, match=r'input 0: an array is 16x16 pixels \(width x height\), '
                       r'256 pixels, more than the 100 allowed \(\$MMFISH_MAX_IMAGE_PIXELS'):
        check_image(array(16, 16), 0)


@pytest.mark.parametrize('value', ['abc', '0', '-5', '1.5'])
def test_bad_bound_settings_are_named(monkeypatch, value):
    monkeypatch.setenv('MMFISH_MAX_IMAGE_PIXELS', value)
    with pytest.raises(ValueError, match=f"MMFISH_MAX_IMAGE_PIXELS='{value}' is invalid: give "
                       'a whole number of pixels > 0'):
        check_image(np.zeros((8, 8, 3), np.uint8), 0)


def test_huge_image_file_is_refused_from_its_header(tmp_path, monkeypatch):
    """A PNG declaring 20000x20000 pixels (the issue's: 4.47 GiB in the visualizer) and one
    of 5000x5000 (under Pillow's own limit, over mmfish's) are refused from their headers,
    without decoding (OpenCV's reader must not be called); raising the bound lets a file
    through, lowering it stops a small one."""
    import mmcv

    def decode(*args, **kwargs):
        raise AssertionError('the image was decoded')
    huge, big = _png(tmp_path / 'huge.png', 20000, 20000), _png(tmp_path / 'big.png', 5000, 5000)
    with monkeypatch.context() as patched:
        patched.setattr(mmcv, 'imread', decode)
        assert header_size(str(huge)) == (20000, 20000)  # beyond Pillow's own bomb limit too
        for path, w, h in [(huge, 20000, 20000), (big, 5000, 5000)]:
            with pytest.raises(ValueError, match=f'input 1: {path} is {w}x{h} pixels .width x '
                               f'height., {w * h:,} pixels, more than the '
                               f'{MAX_IMAGE_PIXELS:,} allowed'):
                check_image(str(path), 1)
    small = _image(tmp_path / 'small.png', 20, 10)
    monkeypatch.setenv('MMFISH_MAX_IMAGE_PIXELS', '199')
    with pytest.raises(ValueError, match='200 pixels, more than the 199 allowed'):
        check_image(str(small), 0)
    monkeypatch.setenv('MMFISH_MAX_IMAGE_PIXELS', '200')
    assert check_image(str(small), 0) == str(small)
    tiny = _image(tmp_path / 'tiny.png', 1, 1)
    with pytest.raises(ValueError, match=f'input 0: {tiny} is 1x1 pixels .* too small; each '
                       'side must be at least 2 pixels'):
        check_image(str(tiny), 0)


def test_tool_refuses_a_huge_image(tmp_path, capsys, monkeypatch):
    code, err = _run_tool(capsys, monkeypatch, CLS, tmp_path / 'none.pth',
                          _png(tmp_path / 'huge.png', 20000, 20000), '--out', tmp_path / 'out')
    _refused(code, err, 'input 0: ', '20000x20000 pixels', 'MMFISH_MAX_IMAGE_PIXELS')


# -- item 11: what each input is, and the output folder ---------------------------------------
def test_directory_or_fifo_is_named(tmp_path):
    """A directory or FIFO given as an image, a checkpoint or a config is named as such (a
    FIFO is never opened: that would wait for a writer)."""
    folder, fifo = tmp_path / 'folder.jpg', tmp_path / 'fifo.jpg'
    folder.mkdir()
    os.mkfifo(fifo)
    for path, kind in [(folder, 'a directory'), (fifo, 'a FIFO')]:
        with pytest.raises(ValueError, match=f'input 1: {path} is {kind}.*, not an image file'):
            check_image(str(path), 1)
        with pytest.raises(ValueError, match=f'checkpoint {path} is {kind}.*, not a file; give '
                           'a checkpoint file'):
            resolve_checkpoint(str(path))
        with pytest.raises(ValueError, match=f'config {path} is {kind}.*, not a file; give a '
                           'config file'):
            load_config(str(path))
    with pytest.raises(FileNotFoundError, match='checkpoint .*gone.pth: no such file'):
        resolve_checkpoint(str(tmp_path / 'gone.pth'))
    (tmp_path / 'link.pth').symlink_to(tmp_path / 'gone.pth')
    with pytest.raises(FileNotFoundError, match=r'no such file \(a broken link\)'):
        resolve_checkpoint(str(tmp_path / 'link.pth'))


def test_configs_that_are_not_configs_are_named(tmp_path):
    import torch
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(type="X"\nx = 1\n')
    with pytest.raises(ValueError, match=f'config {broken} does not load: a syntax error in '
                       f'{broken}, line 1'):
        load_config(str(broken))
    weights = tmp_path / 'iter_80.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}}, weights)
    with pytest.raises(ValueError, match=r'is a checkpoint \(torch-zip\), not a config: the '
                       'config comes first, then the checkpoint'):
        load_config(str(weights))
    missing_base = tmp_path / 'child.py'
    missing_base.write_text("_base_ = './nowhere.py'\n")
    with pytest.raises(ValueError, match='config .*child.py does not load: '):
        load_config(str(missing_base))


def test_devices_that_are_not_there_are_named():
    assert check_device('cpu') == 'cpu'
    with pytest.raises(ValueError, match="device 'gpu' is not a device name; available: cpu"):
        check_device('gpu')
    import torch
    if torch.cuda.device_count() < 8:
        with pytest.raises(ValueError, match="device 'cuda:7' is not available here; "
                           'available: cpu'):
            check_device('cuda:7')


def test_output_folders_that_cannot_be_written(tmp_path):
    """A file, a path under a file, a broken link and a folder of a file system that takes
    no new file (``/sys``: as root too, where permission bits do not stop a write)."""
    out = tmp_path / 'out'
    assert check_out_dir(str(out)) == str(out) and not out.exists()
    file = tmp_path / 'notes.txt'
    file.write_text('x')
    with pytest.raises(ValueError, match=f'the output folder {file} is a file, not a folder'):
        check_out_dir(str(file))
    with pytest.raises(ValueError, match=f'the output folder {file}/a/b cannot be created: '
                       f'{file} is a file, not a folder'):
        check_out_dir(str(file / 'a' / 'b'))
    (tmp_path / 'dangling').symlink_to(tmp_path / 'nowhere')
    with pytest.raises(ValueError, match=r'cannot be created: .*dangling is a broken link'):
        check_out_dir(str(tmp_path / 'dangling' / 'x'))
    vis_file = tmp_path / 'out2'
    vis_file.mkdir()
    (vis_file / 'vis').write_text('x')
    with pytest.raises(ValueError, match='holds a file named vis'):
        check_inputs(str(CLS), 'unused.pth', [np.zeros((8, 8, 3), np.uint8)],
                     out_dir=str(vis_file))
    if not os.path.isdir('/sys') or _writable('/sys'):
        pytest.skip('/sys takes new files here')
    with pytest.raises(ValueError, match='the output folder /sys/mmfish-out is not writable: '
                       'no file can be created in /sys'):
        check_out_dir('/sys/mmfish-out')


def _writable(folder: str) -> bool:
    import tempfile
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def test_inputs_are_checked_in_order_before_the_build(tmp_path):
    """The config first, then the images, the output folder, the device, the checkpoint:
    each refusal names the first problem; all pass without building anything."""
    image = str(_image(tmp_path / 'a.jpg'))
    file = tmp_path / 'notes.txt'
    file.write_text('x')
    with pytest.raises(ValueError, match=r'config .*notes.txt is not a config \(.txt; configs '
                       r'are .py, .json, .yaml, .yml files\)'):
        infer(str(file), 'gone.pth', [str(tmp_path / 'gone.jpg')], out_dir=str(file),
              device='gpu')
    with pytest.raises(FileNotFoundError, match='input 0'):
        infer(str(CLS), 'gone.pth', [str(tmp_path / 'gone.jpg')], out_dir=str(file),
              device='gpu')
    with pytest.raises(ValueError, match='output folder'):
        infer(str(CLS), 'gone.pth', [image], out_dir=str(file), device='gpu')
    with pytest.raises(ValueError, match='device'):
        infer(str(CLS), 'gone.pth', [image], out_dir=str(tmp_path), device='gpu')
    with pytest.raises(FileNotFoundError, match='checkpoint'):
        infer(str(CLS), 'gone.pth', [image], out_dir=str(tmp_path))
    checked = check_inputs(str(CLS), image, [image], out_dir=str(tmp_path / 'o'))
    assert isinstance(checked, CheckedInputs) and checked.scope == 'mmpretrain'
    assert checked.checkpoint == image and checked.device == 'cpu'


@pytest.mark.parametrize('case', ['syntax', 'pth_config', 'dir_image', 'fifo_image',
                                  'dir_checkpoint', 'gpu', 'cuda7', 'out_file', 'out_under_file',
                                  'score_nan'])
def test_tool_refusals(case, tmp_path, capsys, monkeypatch):
    """tools/infer.py: one ``error: ...`` line naming the problem, exit status 2, no
    traceback, nothing built."""
    import torch
    image, checkpoint = _image(tmp_path / 'a.jpg'), tmp_path / 'ck.pth'
    torch.save({'w': torch.zeros(1)}, checkpoint)
    config, out, extra = CLS, tmp_path / 'out', []
    if case == 'syntax':
        config = tmp_path / 'broken.py'
        config.write_text('model = dict(\n')
        words = ['does not load: a syntax error in']
    elif case == 'pth_config':
        config = checkpoint
        words = ['is a checkpoint (torch-zip), not a config']
    elif case in ('dir_image', 'fifo_image'):
        image = tmp_path / 'x.jpg'
        os.mkdir(image) if case == 'dir_image' else os.mkfifo(image)
        words = [f'input 0: {image} is a']
    elif case == 'dir_checkpoint':
        checkpoint = tmp_path / 'work_dir'
        checkpoint.mkdir()
        words = [f'checkpoint {checkpoint} is a directory']
    elif case in ('gpu', 'cuda7'):
        if case == 'cuda7' and torch.cuda.device_count() >= 8:
            pytest.skip('cuda:7 is there')
        extra = ['--device', 'gpu' if case == 'gpu' else 'cuda:7']
        words = ['device ', 'available: cpu']
    elif case in ('out_file', 'out_under_file'):
        file = tmp_path / 'notes.txt'
        file.write_text('x')
        out = file if case == 'out_file' else file / 'sub'
        words = [f'the output folder {out} ', 'not a folder']
    else:
        extra = ['--show-score-thr', 'nan']
        words = ["'nan' is not a score from 0 to 1"]
    code, err = _run_tool(capsys, monkeypatch, config, checkpoint, image, '--out', out, *extra)
    if case == 'score_nan':  # argparse's usage, then the message
        assert code == 2 and 'Traceback' not in err and words[0] in err, err
    else:
        _refused(code, err, *words)


def test_tool_refusal_in_a_process(tmp_path):
    """In a process of its own, past the config, image and output checks: exit status 2, one
    ``error:`` line last, no traceback, nothing created."""
    import torch
    if torch.cuda.device_count() >= 8:
        pytest.skip('cuda:7 is there')
    image, checkpoint = _image(tmp_path / 'a.jpg'), tmp_path / 'ck.pth'
    torch.save({'w': torch.zeros(1)}, checkpoint)
    res = subprocess.run([sys.executable, str(TOOL), str(CLS), str(checkpoint), str(image),
                          '--device', 'cuda:7', '--out', str(tmp_path / 'out')],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2, res.stderr[-3000:]
    assert 'Traceback' not in res.stderr, res.stderr[-3000:]
    assert res.stderr.splitlines()[-1] == ("error: device 'cuda:7' is not available here; "
                                           'available: cpu (no CUDA device is visible)')
    assert not (tmp_path / 'out').exists()
