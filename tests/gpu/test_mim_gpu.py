"""One tiny twin per toolbox trained by ``mim train ... --gpus 1`` on the GPU."""
import pytest

from mmfish_tools.benchmark.gpu_check import TWIN_ITERS, train_twins
from mmfish_tools.tiny_twins import demo_twins

from tests.conftest import REPO

pytestmark = pytest.mark.gpu


def test_tiny_twins_train_on_the_gpu_through_mim(workspace):
    results = train_twins(str(workspace), iters=TWIN_ITERS, root=str(REPO))
    assert len(results) == len(demo_twins())  # one per toolbox
    for r in results:
        assert len(r['losses']) == TWIN_ITERS and r['memory_mb'] > 0
