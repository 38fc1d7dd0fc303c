"""Output paths: a writer replaces a regular file or creates one, and refuses everything else
(devices, FIFOs, sockets, directories, folders named with a trailing slash, an empty path, a
folder it cannot write) before any work, creating and replacing nothing."""
import os
import socket
import stat

import pytest
import torch

import mmfish.checkpoint.io as io
from mmfish.checkpoint import CheckpointError, ConversionError
from mmfish.checkpoint.io import check_destination, part_path, save_atomic, write_atomic
from mmfish.weights import convert_checkpoint, main
from mmfish.deploy import export_onnx
from mmfish.models import ResNeSt

NOT_A_FILE = 'not a regular file: give the path of a file to create or replace'


def _tree(root):
    """Every path under ``root`` with its type (as ``lstat`` gives it: links not followed)."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            found.append((os.path.relpath(path, root), stat.S_IFMT(os.lstat(path).st_mode)))
    return sorted(found)


def _fifo(tmp_path):
    dst = tmp_path / 'out.pth'
    os.mkfifo(dst)
    return str(dst), rf'the output {dst} is a FIFO \(named pipe\), {NOT_A_FILE}', \
        lambda: stat.S_ISFIFO(os.lstat(dst).st_mode)


def _socket(tmp_path):
    dst = tmp_path / 'out.sock'
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(dst))
    sock.close()  # the socket file stays
    return str(dst), rf'the output {dst} is a socket, {NOT_A_FILE}', \
        lambda: stat.S_ISSOCK(os.lstat(dst).st_mode)


def _dev_null(tmp_path):
    """Only checked to be refused and still a device afterwards: nothing writes to it."""
    return '/dev/null', rf'the output /dev/null is a character device, {NOT_A_FILE}', \
        lambda: stat.S_ISCHR(os.lstat('/dev/null').st_mode) and \
        not os.path.lexists(part_path('/dev/null'))


def _link_to_dev_null(tmp_path):
    dst = tmp_path / 'out.pth'
    dst.symlink_to('/dev/null')
    return str(dst), (rf'the output {dst} is a character device \(through a link to '
                      rf'/dev/null\), {NOT_A_FILE}'), \
        lambda: os.readlink(dst) == '/dev/null' and stat.S_ISCHR(os.stat('/dev/null').st_mode)


def _directory(tmp_path):
    (tmp_path / 'folder').mkdir()
    return str(tmp_path / 'folder'), (rf'the output {tmp_path}/folder is a directory: give a '
                                      rf'file name, e.g. {tmp_path}/folder/{{example}}'), \
        lambda: os.listdir(tmp_path / 'folder') == []


def _directory_slash(tmp_path):
    (tmp_path / 'folder').mkdir()
    return f'{tmp_path}/folder/', (rf'the output {tmp_path}/folder/ is a directory: give a '
                                   rf'file name, e.g. {tmp_path}/folder/{{example}}'), \
        lambda: os.listdir(tmp_path / 'folder') == []


def _new_folder_slash(tmp_path):
    return f'{tmp_path}/new/', (rf'the output {tmp_path}/new/ names a folder \(trailing '
                                rf'slash\): give a file name, e.g. {tmp_path}/new/{{example}}'), \
        lambda: not os.path.lexists(tmp_path / 'new')


def _empty(tmp_path):
    """The working directory is a folder of ``tmp_path``: an empty path used to write a
    temporary file into its parent."""
    (tmp_path / 'cwd').mkdir()
    os.chdir(tmp_path / 'cwd')
    return '', 'the output path is empty: give the path of a file to create or replace', \
        lambda: os.listdir(tmp_path / 'cwd') == []


def _parent_is_a_file(tmp_path):
    (tmp_path / 'file').write_text('x')
    return str(tmp_path / 'file' / 'out.pth'), rf'cannot write .*: {tmp_path}/file is not a ' \
        r'directory', lambda: (tmp_path / 'file').read_text() == 'x'


def _unwritable_folder(tmp_path):
    """A folder without write permission; root writes there anyway, so as root a folder of
    sysfs, which refuses new files to root too."""
    if os.geteuid() == 0:
        dst = '/sys/out.pth'
    else:
        (tmp_path / 'locked').mkdir()
        os.chmod(tmp_path / 'locked', 0o500)
        dst = str(tmp_path / 'locked' / 'out.pth')
    folder = os.path.dirname(dst)
    return dst, rf'cannot write {dst}: the folder {folder} is not writable \(\w+Error', \
        lambda: not os.path.lexists(dst) and not os.path.lexists(part_path(dst))


CASES = dict(fifo=_fifo, socket=_socket, dev_null=_dev_null, link_to_dev_null=_link_to_dev_null,
             directory=_directory, directory_slash=_directory_slash,
             new_folder_slash=_new_folder_slash, empty=_empty, parent_is_a_file=_parent_is_a_file,
             unwritable_folder=_unwritable_folder)


@pytest.fixture
def case(request, tmp_path, monkeypatch):
    """``(dst, message pattern, untouched())`` for the case named by the parameter; the
    working directory is restored afterwards, the locked folder unlocked. Should a writer fail
    to refuse, no rename onto anything but a regular file happens (``/dev/null`` stays)."""
    replace = os.replace

    def guarded_replace(src, dst, **kwargs):
        if os.path.exists(dst) and not os.path.isfile(dst):
            raise AssertionError(f'{dst} would have been replaced by a regular file')
        return replace(src, dst, **kwargs)

    monkeypatch.setattr(os, 'replace', guarded_replace)
    monkeypatch.chdir(tmp_path)
    work = tmp_path / 'work'
    work.mkdir()
    yield CASES[request.param](work)
    if (work / 'locked').exists():
        os.chmod(work / 'locked', 0o700)


@pytest.fixture
def source(tmp_path, monkeypatch):
    """A source checkpoint that must never be read: reading it fails the test."""
    src = tmp_path / 'resnest50.pth'
    torch.save({'w': torch.zeros(1)}, src)

    def unreachable(*args, **kwargs):
        raise AssertionError('the source was read before the output was checked')

    monkeypatch.setattr(torch, 'load', unreachable)
    monkeypatch.setattr(io, 'load_checkpoint', unreachable)
    return src


@pytest.mark.parametrize('case', list(CASES), indirect=True)
def test_converter_refuses_before_reading_the_source(case, source, tmp_path):
    dst, pattern, untouched = case
    before = _tree(tmp_path)
    lines = []
    with pytest.raises(ConversionError, match=pattern.format(example=r'model_mmfish\.pth')):
        convert_checkpoint('resnest', str(source), dst, log=lines.append, variant='resnest50')
    assert untouched() and _tree(tmp_path) == before and lines == []


@pytest.mark.parametrize('case', ['fifo', 'link_to_dev_null', 'new_folder_slash'],
                         indirect=True)
def test_command_line_exits_1_and_writes_nothing(case, source, tmp_path, capsys):
    dst, pattern, untouched = case
    before = _tree(tmp_path)
    assert main(argv=[str(source), dst, '--variant', 'resnest50']) == 1
    err = capsys.readouterr().err.replace('\n', ' ')
    assert f"error: {pattern.format(example='model_mmfish.pth')}".replace('\\', '') in err
    assert err.rstrip().endswith('nothing was written.')
    assert untouched() and _tree(tmp_path) == before


@pytest.mark.parametrize('case', list(CASES), indirect=True)
def test_onnx_export_refuses_before_exporting(case, tmp_path, monkeypatch):
    dst, pattern, untouched = case
    model = ResNeSt(depth=50, base_channels=8, stem_channels=16)

    def unreachable(*args, **kwargs):
        raise AssertionError('exported before the output was checked')

    monkeypatch.setattr(torch.onnx, 'export', unreachable)
    before = _tree(tmp_path)
    with pytest.raises(CheckpointError, match=pattern.format(example=r'model\.onnx')):
        export_onnx(model, dst, size=(32, 32), check=False)
    assert untouched() and _tree(tmp_path) == before


@pytest.mark.parametrize('case', ['fifo', 'socket', 'dev_null', 'link_to_dev_null', 'directory',
                                  'new_folder_slash', 'empty'], indirect=True)
def test_atomic_writers_refuse_without_check_destination(case, tmp_path):
    """A writer whose caller skipped :func:`check_destination` still replaces no special file
    and writes no file named like a folder."""
    dst, pattern, untouched = case
    before = _tree(tmp_path)
    written = []
    with pytest.raises(CheckpointError, match=pattern.format(example=r'model_mmfish\.pth')):
        write_atomic(dst, written.append)
    with pytest.raises(CheckpointError, match=pattern.format(example=r'model_mmfish\.pth')):
        save_atomic({'w': torch.zeros(1)}, dst)
    assert not written and untouched() and _tree(tmp_path) == before


def test_special_file_appearing_during_the_write_is_not_replaced(tmp_path):
    dst = tmp_path / 'out.pth'

    def write(f):
        f.write(b'data')
        os.mkfifo(dst)  # made by someone else while the file is written

    with pytest.raises(CheckpointError, match=r'is a FIFO \(named pipe\), not a regular file'):
        write_atomic(str(dst), write)
    assert stat.S_ISFIFO(os.lstat(dst).st_mode) and os.listdir(tmp_path) == ['out.pth']


def test_regular_files_and_links_to_them_are_accepted(tmp_path):
    real = tmp_path / 'real.pth'
    real.write_bytes(b'previous')
    link = tmp_path / 'link.pth'
    link.symlink_to(real)
    lines = []
    for dst in (real, link, tmp_path / 'new.pth'):
        assert check_destination(str(dst), log=lines.append) == str(dst)
    assert lines == [] and sorted(os.listdir(tmp_path)) == ['link.pth', 'real.pth']
    save_atomic({'w': torch.arange(3)}, str(real))
    assert torch.equal(torch.load(real)['w'], torch.arange(3))


def test_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert check_destination('~/models/out.pth', log=lambda s: None) == \
        str(tmp_path / 'models' / 'out.pth')
    save_atomic({'w': torch.zeros(1)}, '~/models/out.pth')
    assert (tmp_path / 'models' / 'out.pth').is_file()
    assert not (tmp_path / '~').exists()
    with pytest.raises(CheckpointError, match=rf'the output {tmp_path}/models is a directory'):
        check_destination('~/models', log=lambda s: None)
