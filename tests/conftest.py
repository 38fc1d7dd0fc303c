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
