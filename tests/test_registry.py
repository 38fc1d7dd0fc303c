"""One codebase, three toolboxes: configs of mmdet, mmseg and mmpretrain name mmfish
backbones with scoped types and custom_imports."""
import pytest
import torch
from mmengine.config import Config

import mmfish
from mmfish.models import FishNet, Res2Net, ResNeSt
from mmfish_tools.inventory import build_in_toolboxes


def test_registry_is_a_child_of_mmengine_root():
    from mmengine.registry import MODELS as ROOT
    assert mmfish.MODELS.scope == 'mmfish'
    assert mmfish.MODELS.parent is ROOT
    assert ROOT.children['mmfish'] is mmfish.MODELS


@pytest.mark.parametrize('backbone,cls', [
    (dict(type='FishNet', depth=99, base_channels=16), FishNet),
    (dict(type='Res2Net', depth=50, base_channels=16), Res2Net),
    (dict(type='ResNeSt', depth=50, base_channels=16, stem_channels=32), ResNeSt),
])
def test_each_toolbox_builds_the_same_class(backbone, cls):
    models = build_in_toolboxes(backbone)
    assert set(models) == {'mmdet', 'mmseg', 'mmpretrain'}
    assert all(type(m) is cls for m in models.values())


def test_toolbox_config_with_custom_imports(tmp_path):
    """A config file in the form users write, with custom_imports, built by mmdet's registry."""
    config = tmp_path / 'detector_backbone.py'
    config.write_text(
        "custom_imports = dict(imports=['mmfish'], allow_failed_imports=False)\n"
        "backbone = dict(type='mmfish.ResNeSt', depth=50, base_channels=16, stem_channels=32,\n"
        "                out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True)\n")
    cfg = Config.fromfile(str(config))
    import mmdet.models  # noqa: F401
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.backbone)
    assert isinstance(model, ResNeSt) and model.frozen_stages == 1
    outs = model.eval()(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [64, 128, 256, 512]
