"""What a cache folder may hold and where a fetch may write: plain file names only (checked
before anything is fetched, read or written), and every write in the folder by its real path,
never through a link planted there."""
import io
import os
from pathlib import Path

import pytest
import torch

from mmfish.checkpoint.download import DownloadError, check_file_name, fetch, url_file_name

from tests.checkpoint.scripted_server import scripted_server as serve_scripted

scripted_server = pytest.fixture(serve_scripted)


@pytest.fixture(autouse=True)
def _no_mirror(monkeypatch):
    monkeypatch.delenv('MMFISH_MIRROR', raising=False)


def _checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({'conv.weight': torch.randn(4, 3, 3, 3)}, buffer)
    return buffer.getvalue()


def _tree(root: Path) -> dict:
    """Every path under ``root`` (links not followed) with its size, or its link target."""
    return {str(p.relative_to(root)): (os.readlink(p) if p.is_symlink() else
                                       p.stat().st_size if p.is_file() else 'dir')
            for p in root.rglob('*')}


@pytest.mark.parametrize('name, problem', [
    ('', 'is empty'), ('.', 'names a folder'), ('..', 'names a folder'),
    ('../escaped.pth', r'holds a path separator \(/ or \\\)'),
    ('/tmp/evil.pth', r'holds a path separator \(/ or \\\)'),
    ('..\\escaped.pth', r'holds a path separator \(/ or \\\)'),
    ('model\0.pth', 'holds a NUL character'), ('model..pth', "holds '..'"),
    ('model\n.pth', 'holds a control character'),
    ('.model.123.part', r"begins with '\.' \(the cache's part files are named so\)"),
    ('model.pth.sha256', r"ends with one of \.lock, \.sha256, \.part, the endings of the "
                         "cache's own files"),
    ('model.pth.lock', r"ends with one of \.lock, \.sha256, \.part, the endings of the "
                       "cache's own files"),
])
def test_names_that_are_not_plain_file_names_are_refused(name, problem):
    with pytest.raises(DownloadError, match=f'^the file name .* {problem}: a cached file must '
                                            'have a plain file name'):
        check_file_name(name)


@pytest.mark.parametrize('segment, name', [
    ('my%20model.pth', 'my model.pth'), ('..%2F..%2Fescaped.pth', '../../escaped.pth'),
    ('%2Ftmp%2Fevil.pth', '/tmp/evil.pth'), ('..%5Cescaped.pth', '..\\escaped.pth'),
])
def test_a_url_names_its_last_segment_unquoted_once(segment, name):
    assert url_file_name(f'http://127.0.0.1:1/models/{segment}?dl=1') == name


def test_a_double_encoded_name_is_refused():
    with pytest.raises(DownloadError, match=r"the file name '\.\.%2Fescaped\.pth' that the URL "
                                            r'ends with still holds a %-escape once unquoted'):
        url_file_name('http://127.0.0.1:1/..%252Fescaped.pth')


def test_a_name_that_leaves_the_folder_writes_and_asks_nothing(scripted_server, tmp_path):
    cache = tmp_path / 'cache'
    before = _tree(tmp_path)
    with pytest.raises(DownloadError, match='holds a path separator'):
        fetch('../escaped.pth', f'{scripted_server.url}/x.pth', str(cache), progress=False)
    assert _tree(tmp_path) == before and scripted_server.requests == {}


@pytest.mark.parametrize('link', ['model.pth.sha256', 'model.pth.lock', 'model.pth'])
def test_a_link_in_the_cache_cannot_redirect_a_write(link, scripted_server, tmp_path):
    """A link planted beside (or as) the cached file, leading out of the cache: the fetch
    refuses to write through it, and the file it leads to stays as it was."""
    url = scripted_server.answer('/model.pth', _checkpoint_bytes())
    cache, outside = tmp_path / 'cache', tmp_path / 'outside'
    cache.mkdir()
    outside.mkdir()
    target = outside / 'target'
    if link != 'model.pth':  # the link to a missing file is what fetch would create
        target.write_text('precious')
    (cache / link).symlink_to(target)
    with pytest.raises(DownloadError, match=f'^refusing to write {cache / link}: it leads to '
                                            f'{target}, outside the cache folder {cache}'):
        fetch('model.pth', url, str(cache), progress=False)
    assert sorted(p.name for p in outside.iterdir()) == (
        [] if link == 'model.pth' else ['target'])
    if link != 'model.pth':
        assert target.read_text() == 'precious'


def test_a_link_at_the_part_files_name_is_replaced_not_followed(scripted_server, tmp_path):
    data = _checkpoint_bytes()
    url = scripted_server.answer('/model.pth', data)
    cache, target = tmp_path / 'cache', tmp_path / 'target'
    cache.mkdir()
    target.write_text('precious')
    (cache / f'.model.pth.{os.getpid()}.part').symlink_to(target)
    path = fetch('model.pth', url, str(cache), progress=False)
    assert Path(path).read_bytes() == data and not Path(path).is_symlink()
    assert target.read_text() == 'precious'
    assert sorted(os.listdir(cache)) == ['model.pth', 'model.pth.lock', 'model.pth.sha256']
