"""Every published variant: exact parameter count of the official model, and its in1k config
builds and classifies."""
import pytest
import torch
from mmengine.config import Config

from mmfish.variants import VARIANTS

from tests.conftest import DATA, build_in_scope, official_layouts

REPO = DATA.parent.parent
BUFFERS = ('running_mean', 'running_var', 'num_batches_tracked')


def _official_param_counts():
    counts = {}
    for name, entries in official_layouts().items():
        counts[name] = sum(torch.Size(shape).numel() for key, shape, _ in entries
                           if not key.endswith(BUFFERS))
    return counts


@pytest.fixture(scope='module')
def official_counts():
    return _official_param_counts()


@pytest.mark.parametrize('name', list(VARIANTS))
def test_in1k_config_matches_the_official_model(name, official_counts):
    variant = VARIANTS[name]
    cfg = Config.fromfile(REPO / variant.config)
    assert cfg.custom_imports == dict(imports=['mmfish'], allow_failed_imports=False)
    assert cfg.model.backbone.type.startswith('mmfish.')
    model = build_in_scope('mmpretrain', cfg.model)
    params = sum(p.numel() for p in model.parameters())
    assert params == official_counts[variant.official]
    # the published figure, to its number of digits (one unit of its last digit: ablation.md
    # gives 26.3M for resnest50_fast_1s1x64d's 26.22M)
    digits = len(repr(variant.params_m).partition('.')[2])
    assert abs(params / 1e6 - variant.params_m) <= 10**-digits + 1e-9
    model.eval()
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 1000)
    # the recipe's input size
    pipeline = cfg.test_dataloader.dataset.pipeline
    crop = [t for t in pipeline if t['type'] == 'CenterCrop'][0]['crop_size']
    assert crop == variant.input_size
