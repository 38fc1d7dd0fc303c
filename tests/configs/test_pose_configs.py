"""Every mmpose config loads, builds its model in mmpose and runs a forward pass; mmpose's own
ResNeSt gives what mmfish's gives after converting an mmpose checkpoint."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmfish.weights import convert_checkpoint
from mmfish.hub import released_variants
from mmfish.models import ResNeSt
from mmfish.testing import max_rel_error, randomize_norms

from tests.conftest import build_in_scope, official_layouts

CONFIGS = Path(__file__).parents[2] / 'configs'
# not the configs of mmpose's trained models (trained/: test_trained_models.py)
POSE = sorted(p for p in (CONFIGS / 'mmpose').rglob('*.py')
              if not {'_base_', 'trained'} & set(p.parts))


@pytest.mark.parametrize('path', POSE, ids=[p.stem for p in POSE])
def test_pose_config(path):
    cfg = Config.fromfile(str(path))
    assert cfg.custom_imports == dict(imports=['mmfish'], allow_failed_imports=False)
    backbone = cfg.model.backbone
    assert backbone.type.startswith('mmfish.') and backbone.out_indices == (3, )
    init = backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    assert init.checkpoint.startswith('mmfish://') and released_variants()[
        init.checkpoint[len('mmfish://'):]]
    model = build_in_scope('mmpose', cfg.model).eval()
    width, height = cfg.codec.input_size
    with torch.no_grad():
        heatmaps = model(torch.rand(1, 3, height, width), None, mode='tensor')
    assert heatmaps.shape == (1, 17, *cfg.codec.heatmap_size[::-1])


def test_mmpose_resnest_stems():
    """mmpose's ResNeSt-101 config builds a 64-channel stem; the official ResNeSt-101 (and its
    ImageNet weights) has 128, which mmfish's pose configs keep."""
    import mmpose
    name = 'td-hm_resnest101_8xb64-210e_coco-256x192.py'
    base = Path(mmpose.__file__).parent / '.mim' / 'configs' / 'body_2d_keypoint' / \
        'topdown_heatmap' / 'coco' / name
    theirs = Config.fromfile(str(CONFIGS / 'mmpose' / 'resnest' / name)).model
    theirs_backbone = Config.fromfile(str(base)).model.backbone
    peer = build_in_scope('mmpose', dict(theirs_backbone, init_cfg=None))
    stem = [v.shape[0] for k, v in peer.state_dict().items()
            if k.startswith('stem.') and v.dim() == 4]
    assert stem[-1] == 64
    official = dict((k, s) for k, s, _ in official_layouts()['resnest101'])
    assert official['conv1.6.weight'][0] == 128 == theirs.backbone.stem_channels


def test_mmpose_resnest_checkpoint_converts_to_the_same_function(tmp_path):
    """A pose model trained with mmpose's ResNeSt-50 (backbone.*, head.deconv_layers...): the
    converter renames the backbone and carries the heatmap head over unchanged, and mmfish's
    ResNeSt computes what mmpose's does."""
    peer = build_in_scope('mmpose', dict(type='ResNeSt', depth=50, base_channels=16,
                                         stem_channels=16))
    randomize_norms(peer).eval()
    state = {f'backbone.{k}': v for k, v in peer.state_dict().items()}
    state['head.deconv_layers.0.weight'] = torch.rand(2048 // 4, 256, 4, 4)
    state['head.final_layer.weight'] = torch.rand(17, 256, 1, 1)
    text = Config(dict(model=dict(type='TopdownPoseEstimator', backbone=dict(
        type='ResNeSt', depth=50, base_channels=16, stem_channels=16)))).pretty_text
    src, dst = tmp_path / 'td-hm_resnest50.pth', tmp_path / 'out.pth'
    torch.save({'meta': {'cfg': text}, 'state_dict': state}, src)
    lines = []
    meta = convert_checkpoint(None, str(src), str(dst), log=lines.append)['mmfish']
    assert 'carried over unchanged: 2 tensors of head' in lines
    written = torch.load(dst)['state_dict']
    for key in ('head.deconv_layers.0.weight', 'head.final_layer.weight'):
        assert torch.equal(written.pop(key), state[key])
    backbone = dict(meta['backbone'])
    assert backbone.pop('type') == 'ResNeSt'
    model = ResNeSt(**backbone, out_indices=(3, )).eval()
    model.load_state_dict({k[len('backbone.'):]: v for k, v in written.items()})
    x = torch.rand(2, 3, 64, 48)
    with torch.no_grad():
        ours, theirs = model(x), peer(x)
    assert max_rel_error(ours[-1], theirs[-1]) < 1e-5
