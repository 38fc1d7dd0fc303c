import gzip
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import mmfish  # noqa: F401  (registers the models, allows MMEngine checkpoints)
from mmfish_tools import build_in_scope  # noqa: F401  (the tests import it from here)

DATA = Path(__file__).parent / 'data'


def unpacked_fixture(name: str, directory: Path) -> Path:
    """``data/official/<name>`` (a ``.gz``) decompressed into ``directory``: the checkpoint as
    the reference code wrote it (the committed copy is compressed to keep it small)."""
    path = Path(directory) / name[:-len('.gz')]
    with gzip.open(DATA / 'official' / name) as src, open(path, 'wb') as dst:
        shutil.copyfileobj(src, dst)
    return path


def official_layouts() -> dict:
    """Key names, shapes and dtypes of the official models' state dicts, as written by the
    official code, by official model name: every ``data/official/state_dict_layouts*.json.gz``."""
    layouts = {}
    for path in sorted((DATA / 'official').glob('state_dict_layouts*.json.gz')):
        with gzip.open(path, 'rt') as f:
            layouts.update(json.load(f))
    return layouts
#: the source checkout the tests run in (configs/, tools/, docs/)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _deterministic():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A working directory with the tiny datasets in data/tiny/, where the tiny twins'
    configs look for them (one per test module)."""
    from mmfish_tools.tiny_datasets import make_tiny_datasets
    root = tmp_path_factory.mktemp('workspace')
    make_tiny_datasets(str(root / 'data' / 'tiny'), log=lambda s: None)
    return root


class FileServer:
    """A folder served over HTTP on the loopback interface, as the tests' stand-in for a
    model hub: it counts the requests per path; ``delay`` (seconds per 64 KiB) slows each
    download so that a test can act while one is under way, and ``truncate`` (bytes) ends
    each response early, after announcing the full length."""

    def __init__(self, root: Path):
        import functools
        import http.server
        import threading
        import time
        self.root, self.requests, self.delay, self.truncate = root, {}, 0.0, None
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split('?', 1)[0]
                server.requests[path] = server.requests.get(path, 0) + 1
                if not server.delay and server.truncate is None:
                    return super().do_GET()
                file = server.root / path.lstrip('/')
                if not file.is_file():
                    return self.send_error(404)
                data = file.read_bytes()
                self.send_response(200)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                data = data[:server.truncate]  # then the connection closes
                for i in range(0, len(data), 1 << 16):
                    time.sleep(server.delay)
                    self.wfile.write(data[i:i + (1 << 16)])

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        # polled every 0.05 s: shutdown() waits for the next poll (0.5 s by default)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05, ), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def file_server(tmp_path):
    """A :class:`FileServer` of ``tmp_path/served``."""
    root = tmp_path / 'served'
    root.mkdir()
    server = FileServer(root)
    yield server
    server.close()


def train_demo_twins(root: Path, jobs: int = 2) -> dict:
    """Train and test the demo twins (``make demo``'s schedule: tiny_twins.run_twin) in
    ``root``, with the tiny datasets they read written to ``root/data/tiny``, ``jobs`` runs
    side by side with one thread each, as tools/demo.py runs them on 2 idle cores; return
    each twin's run_twin result, with the progress lines it logged (``lines``), by toolbox."""
    from concurrent.futures import ThreadPoolExecutor

    from mmfish_tools.tiny_datasets import make_tiny_datasets
    from mmfish_tools.tiny_twins import DEMO_TWINS, run_twin
    make_tiny_datasets(str(root / 'data' / 'tiny'), which=('imagenet', 'coco', 'ade20k',
                                                            'coco_pose'), log=lambda s: None)

    def run(twin):
        lines = []
        result = run_twin(twin, 'work_dirs', log=lines.append, root=REPO, cwd=str(root),
                          env=dict(OMP_NUM_THREADS='1'))
        return twin.toolbox, dict(result, lines=lines)

    with ThreadPoolExecutor(jobs) as pool:  # each run is a subprocess: threads only wait
        return dict(pool.map(run, DEMO_TWINS))


@pytest.fixture(scope='session')
def demo_runs(tmp_path_factory):
    """The demo twins trained and tested once per test session as ``make demo`` trains them
    (:func:`train_demo_twins`): ``root`` (the workspace, tiny datasets in ``data/tiny``) and
    ``results`` (by toolbox: checkpoint, losses, metrics, progress lines, ...)."""
    root = tmp_path_factory.mktemp('demo_runs')
    return dict(root=root, results=train_demo_twins(root))


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """``$MMFISH_HOME`` and a mirror folder in ``tmp_path`` (``mmfish://resnest14d`` served
    without network); the mirror holds a stand-in for
    ResNeSt-14's released file in its official layout with random values, under a name that
    carries the stand-in's own digest (the test's row of the variants table gives that name)."""
    import dataclasses

    from mmfish.checkpoint.integrity import file_sha256
    from mmfish.variants import VARIANTS

    from tests.weights.test_conversion import _random_official_checkpoint
    home, mirror = tmp_path / 'home', tmp_path / 'mirror'
    mirror.mkdir()
    monkeypatch.setenv('MMFISH_HOME', str(home))
    monkeypatch.setenv('MMFISH_MIRROR', str(mirror))
    variant = VARIANTS['resnest14d']
    standin = mirror / 'standin.pth'
    state = _random_official_checkpoint(variant, standin)
    name = f'gluon_resnest14-{file_sha256(standin)[:8]}.pth'
    standin.rename(mirror / name)
    monkeypatch.setitem(VARIANTS, 'resnest14d', dataclasses.replace(variant, files=(name, )))
    return home, mirror, name, state
