"""Tests that need a CUDA device: marked ``gpu``, skipped without one (``make test`` then
lists them as skipped with the reason in its summary); ``make gpu-check`` runs them."""
from pathlib import Path

import pytest
import torch

from mmfish_tools.benchmark.core import no_cuda_reason

HERE = Path(__file__).parent
SKIP_REASON = 'GPU test: no CUDA device is available here; `make gpu-check` runs it on a GPU'


def pytest_collection_modifyitems(config, items):
    ours = [item for item in items if HERE in Path(str(item.fspath)).parents]
    for item in ours:
        item.add_marker(pytest.mark.gpu)
    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason=SKIP_REASON)
        for item in items:
            if item.get_closest_marker('gpu'):
                item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if torch.cuda.is_available():
        return
    skipped = [r for r in terminalreporter.stats.get('skipped', [])
               if SKIP_REASON in str(getattr(r, 'longrepr', ''))]
    if skipped:
        terminalreporter.write_line(
            f'{len(skipped)} GPU tests skipped: {no_cuda_reason()}. Run them with '
            f'`make gpu-check` on a machine with an NVIDIA GPU.', yellow=True, bold=True)
