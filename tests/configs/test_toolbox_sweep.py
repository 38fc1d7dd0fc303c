"""The sweep: every config shipped inside the installed mmdet, mmseg, mmpretrain and mmpose
(their ``.mim/configs``) whose backbone is ResNeSt or Res2Net, found when the tests are
collected, builds in its toolbox with the backbone switched to mmfish's by
:func:`mmfish.models.toolbox.from_toolbox` and trains one step on CPU (with mmcv's deformable
convolutions where the config asks for them). The switched backbone has the toolbox
backbone's weights (every key and shape, after the converter's renaming), and a ResNeSt gives
the toolbox's own outputs after its weights are converted by ``mmfish.convert``.

What the test changes, besides the backbone: the input (two images of 64x64), and, for two-
and multi-stage detectors, the numbers of proposals and sampled RoIs (as the tiny twins do);
the segmentors pad to the input instead of their crop size. Models whose configs differ only
in what inference reads (``test_cfg``, a pose head's ``decoder``), in the input normalisation
or in pretrained weights are trained once; backbones that are the same are compared once. An
mmpretrain model piece (``_base_/models``) gets the data preprocessor its dataset pieces give.
"""
import ast
import copy
import functools
import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import OptimWrapper

from mmfish.weights import FAMILIES, convert_checkpoint
from mmfish.models.toolbox import from_toolbox
from mmfish.testing import max_rel_error, randomize_norms

from tests.conftest import build_in_scope

TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain', 'mmpose')
FAMILY_NAMES = ('ResNeSt', 'Res2Net')
_MENTION = re.compile('|'.join(FAMILY_NAMES))
#: configs that exist in the installed toolboxes: the sweep must find them
KNOWN = [
    ('mmdet', 'resnest/mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco.py'),
    ('mmdet', 'resnest/cascade-mask-rcnn_s101_fpn_syncbn-backbone+head_ms-1x_coco.py'),
    ('mmdet', 'res2net/htc_res2net-101_fpn_20e_coco.py'),
    ('mmdet', 'vfnet/vfnet_res2net101-mdconv-c3-c5_fpn_ms-2x_coco.py'),
    ('mmseg', 'resnest/resnest_s101-d8_deeplabv3plus_4xb4-160k_ade20k-512x512.py'),
    ('mmpretrain', 'resnest/resnest50_32xb64_in1k.py'),
    ('mmpretrain', 'resnest/resnest269_64xb32_in1k.py'),
    ('mmpretrain', 'res2net/res2net50-w14-s8_8xb32_in1k.py'),
    ('mmpretrain', 'res2net/res2net101-w26-s4_8xb32_in1k.py'),
    ('mmpose', 'body_2d_keypoint/topdown_heatmap/coco/td-hm_resnest50_8xb64-210e_coco-256x192.py'),
]
SIZE = 64
#: keys that play no part in what the training step shows: pretrained weights (not loaded),
#: inference settings, and the input normalisation
_INERT = ('init_cfg', 'pretrained', 'test_cfg', 'decoder', 'data_preprocessor')


# -- discovery -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def config_root(toolbox: str):
    """``<package>/.mim/configs`` of an installed toolbox (None when it is not installed)."""
    spec = importlib.util.find_spec(toolbox)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]) / '.mim' / 'configs'
    return root if root.is_dir() else None


_BASE = re.compile(r'^_base_\s*=\s*(\[[^\]]*\]|\([^)]*\)|\'[^\']*\'|"[^"]*")', re.M)


def _bases(path: Path, text: str):
    """The files a config's ``_base_`` names (relative, or ``<toolbox>::`` paths)."""
    names = []
    for literal in _BASE.findall(text):
        try:
            value = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            continue
        names += [value] if isinstance(value, str) else list(value)
    found = []
    for name in names:
        if '::' in name:
            scope, rel = name.split('::', 1)
            root = config_root(scope)
            found += [root / rel] if root else []
        else:
            found.append(path.parent / name)
    return [Path(os.path.normpath(p)) for p in found]


def candidates():
    """Config files that name ResNeSt or Res2Net, or inherit one that does (read as text)."""
    texts, bases = {}, {}
    for toolbox in TOOLBOXES:
        root = config_root(toolbox)
        for path in sorted(root.rglob('*.py')) if root else []:
            texts[path] = (toolbox, root, path.read_text(errors='replace'))
    for path, (_, _, text) in texts.items():
        bases[path] = _bases(path, text)
    chosen = {p for p, (_, _, text) in texts.items() if _MENTION.search(text)}
    grew = True
    while grew:  # through the _base_ chains
        new = {p for p, b in bases.items() if p not in chosen and chosen.intersection(b)}
        chosen |= new
        grew = bool(new)
    return [(texts[p][0], p.relative_to(texts[p][1]).as_posix(), p) for p in sorted(chosen)]


def discover():
    """``(toolbox, path in its configs, Config)`` of every config whose ``model.backbone``
    is a ResNeSt or Res2Net (any scope)."""
    found = []
    for toolbox, rel, path in candidates():
        cfg = Config.fromfile(str(path))
        backbone = (cfg.get('model') or {}).get('backbone') or {}
        if str(backbone.get('type', '')).split('.')[-1] in FAMILY_NAMES:
            found.append((toolbox, rel, cfg))
    return found


SWEEP = discover()
CONFIGS = {(t, rel): cfg for t, rel, cfg in SWEEP}


def _id(toolbox, rel):
    return f'{toolbox}:{rel[:-len(".py")]}'


# -- helpers ---------------------------------------------------------------------------------
def _without(obj, keys=_INERT):
    if isinstance(obj, dict):
        return {k: _without(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, (list, tuple)):
        return [_without(v, keys) for v in obj]
    return obj


def _key(*parts):
    return json.dumps([_without(p) for p in parts], sort_keys=True, default=str)


def _once(cache: dict, key: str, name: str, fn):
    """Run ``fn`` once per ``key``; a later config with the same key gets its outcome."""
    if key not in cache:
        try:
            cache[key] = (name, fn(), None)
        except Exception as exc:  # recorded for the configs that share it, then raised
            cache[key] = (name, None, exc)
            raise
    first, result, exc = cache[key]
    if exc is not None:
        raise AssertionError(f'the same as {first}, which failed: {exc!r}') from exc
    return result


def _family(backbone: dict) -> str:
    return backbone['type'].split('.')[-1]


def _small_training(model_cfg: dict, toolbox: str) -> dict:
    """The training settings scaled to two 64x64 images."""
    def scale(node):
        if isinstance(node, dict):
            if isinstance(node.get('sampler'), dict) and 'num' in node['sampler']:
                node['sampler']['num'] = min(node['sampler']['num'], 32)
            if isinstance(node.get('rpn_proposal'), dict):
                node['rpn_proposal']['max_per_img'] = 64
            for value in node.values():
                scale(value)
        elif isinstance(node, list):
            for value in node:
                scale(value)
    if toolbox == 'mmdet':
        scale(model_cfg.get('train_cfg'))
    if toolbox == 'mmseg':
        model_cfg['data_preprocessor']['size'] = (SIZE, SIZE)
    return model_cfg


def _model_cfg(cfg: Config) -> dict:
    """``cfg.model`` with the config's ``data_preprocessor``, as MMEngine's runner builds it;
    an mmpretrain model piece (``_base_/models``) gets the one its dataset pieces give (the
    head's number of classes, which its batch augments need)."""
    model_cfg = cfg.model.to_dict()
    if cfg.get('data_preprocessor'):
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor.to_dict())
    if 'data_preprocessor' not in model_cfg and model_cfg.get('type') == 'ImageClassifier':
        model_cfg['data_preprocessor'] = dict(num_classes=model_cfg['head']['num_classes'])
    return model_cfg


def _batch(toolbox: str, model_cfg: dict) -> dict:
    """Two images with ground truth of every kind the toolbox's models read."""
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, SIZE, SIZE), generator=gen, dtype=torch.uint8)
              for _ in range(2)]
    samples = []
    for _ in range(2):
        if toolbox == 'mmdet':
            from mmdet.structures import DetDataSample
            from mmdet.structures.mask import BitmapMasks
            from mmengine.structures import InstanceData, PixelData
            sample = DetDataSample(metainfo=dict(
                img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE),
                scale_factor=(1., 1.), flip=False))
            boxes = torch.tensor([[4., 6., 40., 44.], [24., 16., 60., 58.]])
            masks = np.zeros((2, SIZE, SIZE), np.uint8)
            for mask, (x0, y0, x1, y1) in zip(masks, boxes.int().tolist()):
                mask[y0:y1, x0:x1] = 1
            sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([1, 7]),
                                               masks=BitmapMasks(masks, SIZE, SIZE))
            sample.ignored_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                                    labels=torch.zeros(0, dtype=torch.long))
            # HTC's semantic head (COCO-stuff's 183 classes)
            sample.gt_sem_seg = PixelData(
                sem_seg=torch.randint(0, 183, (1, SIZE, SIZE), generator=gen))
        elif toolbox == 'mmseg':
            from mmengine.structures import PixelData
            from mmseg.structures import SegDataSample
            sample = SegDataSample(metainfo=dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                                                 pad_shape=(SIZE, SIZE)))
            classes = model_cfg['decode_head']['num_classes']
            sample.gt_sem_seg = PixelData(
                data=torch.randint(0, classes, (1, SIZE, SIZE), generator=gen))
        elif toolbox == 'mmpretrain':
            from mmpretrain.structures import DataSample
            sample = DataSample().set_gt_label(torch.randint(0, 10, (), generator=gen))
        else:
            from mmengine.structures import InstanceData, PixelData
            from mmpose.structures import PoseDataSample
            joints = model_cfg['head']['out_channels']
            sample = PoseDataSample(metainfo=dict(input_size=(SIZE, SIZE)))
            # the heatmap head up-samples the stride-32 level 8 times
            sample.gt_fields = PixelData(
                heatmaps=torch.rand(joints, SIZE // 4, SIZE // 4, generator=gen))
            sample.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, joints))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _peer_cfg(backbone: dict) -> dict:
    return {k: v for k, v in backbone.items() if k not in ('init_cfg', 'pretrained')}


def _same_weights(toolbox: str, backbone: dict, ours: torch.nn.Module):
    """The toolbox's backbone (built on the meta device) has the keys and shapes of ours once
    the converter renames them."""
    try:
        with torch.device('meta'):
            peer = build_in_scope(toolbox, _peer_cfg(backbone))
    except RuntimeError:  # mmpretrain's ResNet reads a tensor's value (drop path rates)
        peer = build_in_scope(toolbox, _peer_cfg(backbone))
    fam = FAMILIES[_family(backbone).lower()]
    renamed, _, _ = fam.to_mmfish_keys(
        {f'backbone.{k}': v for k, v in peer.state_dict().items()}, toolbox)
    theirs = {k[len('backbone.'):]: tuple(v.shape) for k, v in renamed.items()}
    mine = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert sorted(theirs) == sorted(mine)
    assert theirs == mine


def _dcn_layers(model):
    import mmcv.ops
    return {name: type(m) for name, m in model.named_modules()
            if isinstance(m, (mmcv.ops.DeformConv2dPack, mmcv.ops.ModulatedDeformConv2dPack))}


def train_step(toolbox: str, model_cfg: dict, toolbox_backbone: dict) -> float:
    """Build the model (``model_cfg``, its backbone switched from ``toolbox_backbone``) in
    its toolbox and train one step: data preprocessor, loss, backward, SGD step; the loss."""
    model = build_in_scope(toolbox, ConfigDict(copy.deepcopy(model_cfg)))
    backbone = model.backbone
    assert type(backbone).__module__.startswith('mmfish.')
    assert type(backbone).__name__ == _family(model_cfg['backbone'])
    if _family(toolbox_backbone) == 'Res2Net':  # (ResNeSt: loaded strictly in same_outputs)
        _same_weights(toolbox, toolbox_backbone, backbone)
    dcn = model_cfg['backbone'].get('dcn')
    layers = _dcn_layers(backbone)
    if dcn:
        import mmcv.ops
        op = dict(DCN=mmcv.ops.DeformConv2dPack,
                  DCNv2=mmcv.ops.ModulatedDeformConv2dPack)[dcn['type']]
        stages = [i + 1 for i, on in enumerate(model_cfg['backbone']['stage_with_dcn']) if on]
        assert layers and all(issubclass(t, op) for t in layers.values())
        assert {int(n.split('.')[0][len('layer'):]) for n in layers} == set(stages)
    else:
        assert not layers
    model.train()
    watched = {n: p.detach().clone() for n, p in backbone.named_parameters()
               if n.startswith('layer4.') and p.requires_grad}
    optim = OptimWrapper(torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                                         lr=1e-3))
    log_vars = model.train_step(_batch(toolbox, model_cfg), optim)
    loss = float(torch.as_tensor(log_vars['loss']).detach())
    assert np.isfinite(loss) and loss > 0
    changed = {n for n, p in backbone.named_parameters() if n in watched
               and not torch.equal(p.detach(), watched[n])}
    assert changed, 'the step changed no weight of layer4'
    if dcn:  # the offsets learn on CPU too
        assert any('conv_offset' in n for n in changed)
    return loss


def same_outputs(toolbox: str, backbone: dict, ours_cfg: dict, tmp_path: Path) -> float:
    """The toolbox's ResNeSt with random weights and BatchNorm statistics, saved as its runner
    saves a checkpoint, converted by mmfish, loaded strictly into the switched backbone: the
    two give the same outputs."""
    torch.manual_seed(0)
    peer = build_in_scope(toolbox, _peer_cfg(backbone))
    randomize_norms(peer, seed=0)
    peer.eval()
    text = Config(dict(model=dict(type='Model', backbone=_peer_cfg(backbone)))).pretty_text
    src, dst = tmp_path / f'{toolbox}_resnest.pth', tmp_path / 'mmfish.pth'
    torch.save({'meta': {'cfg': text},
                'state_dict': {f'backbone.{k}': v for k, v in peer.state_dict().items()}}, src)
    meta = convert_checkpoint('resnest', str(src), str(dst), log=lambda s: None)['mmfish']
    assert meta['decided']['avd_first']['value'] is False
    src.unlink()
    with torch.device('meta'):  # the weights come from the converted file
        ours = build_in_scope(toolbox, _peer_cfg(ours_cfg))
    state = torch.load(dst)['state_dict']
    dst.unlink()
    ours.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()}, strict=True,
                         assign=True)
    ours.to(memory_format=ours.memory_format)  # as built: channels-last weights by default
    del state
    ours.eval()
    x = torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        theirs, mine = peer(x), ours(x)
    theirs = theirs if isinstance(theirs, tuple) else (theirs, )
    assert len(mine) == len(theirs)
    return max_rel_error(mine, theirs)


_STEPS, _OUTPUTS = {}, {}


# -- tests -----------------------------------------------------------------------------------
def test_the_sweep_finds_every_known_config():
    found = set(CONFIGS)
    for toolbox in TOOLBOXES:
        assert config_root(toolbox) is not None, f'{toolbox} (with its .mim/configs) is missing'
        assert any(t == toolbox for t, _ in found), f'no ResNeSt/Res2Net config in {toolbox}'
    missing = [k for k in KNOWN if k not in found]
    assert not missing, f'not found: {missing}'
    assert any(cfg.model.backbone.get('dcn') for cfg in CONFIGS.values())  # DCN is covered
    assert {_family(cfg.model.backbone) for cfg in CONFIGS.values()} == set(FAMILY_NAMES)


def _sibling(toolbox: str, rel: str) -> bool:
    """Whether the config differs from one that ``make test`` runs only in depth (mmdet's
    S-101, mmpose's and mmpretrain's ResNeSt-200/269), input size (mmpose's 384x288) or dataset
    (mmseg's Cityscapes): those run in ``make test-all`` (marked slow)."""
    name = rel.rsplit('/', 1)[-1]
    return ((toolbox == 'mmdet' and '_s101_' in name)
            or (toolbox == 'mmpose' and ('384x288' in name or 'resnest200' in name
                                         or 'resnest269' in name))
            or (toolbox == 'mmpretrain' and ('resnest200' in name or 'resnest269' in name))
            or (toolbox == 'mmseg' and 'cityscapes' in name))


@pytest.mark.parametrize('toolbox,rel', [
    pytest.param(*k, marks=pytest.mark.slow) if _sibling(*k) else k for k in CONFIGS],
    ids=[_id(*k) for k in CONFIGS])
def test_config_builds_and_trains_one_step_with_mmfish(toolbox, rel, tmp_path):
    cfg = CONFIGS[(toolbox, rel)]
    model_cfg = _model_cfg(cfg)
    toolbox_backbone = model_cfg['backbone']
    model_cfg['backbone'] = from_toolbox(toolbox_backbone, toolbox)
    assert model_cfg['backbone']['type'] == f'mmfish.{_family(toolbox_backbone)}'
    model_cfg = _small_training(model_cfg, toolbox)
    name = _id(toolbox, rel)
    _once(_STEPS, _key(toolbox, model_cfg), name,
          lambda: train_step(toolbox, model_cfg, toolbox_backbone))
    if _family(toolbox_backbone) == 'ResNeSt':
        error = _once(_OUTPUTS, _key(toolbox, toolbox_backbone), name,
                      lambda: same_outputs(toolbox, toolbox_backbone, model_cfg['backbone'],
                                           tmp_path))
        assert error < 1e-4, f'relative error {error:.2e} against {toolbox}\'s ResNeSt'


def test_a_switched_config_dumps_and_builds(tmp_path):
    """The recipe of docs/downstream.md: switch the backbone, import mmfish, dump the config;
    the dumped file builds mmfish's backbone in the toolbox."""
    path = config_root('mmpretrain') / 'res2net' / 'res2net50-w14-s8_8xb32_in1k.py'
    cfg = Config.fromfile(str(path))
    cfg.model.backbone = from_toolbox(cfg.model.backbone, 'mmpretrain')
    cfg.custom_imports = dict(imports=['mmfish'], allow_failed_imports=False)
    cfg.dump(str(tmp_path / 'res2net50-w14-s8_mmfish.py'))
    dumped = Config.fromfile(str(tmp_path / 'res2net50-w14-s8_mmfish.py'))
    assert dumped.model.backbone.type == 'mmfish.Res2Net'
    assert dumped.model.backbone.deep_stem is False and dumped.model.backbone.scales == 8
    model = build_in_scope('mmpretrain', dumped.model)
    assert type(model.backbone).__module__ == 'mmfish.families.res2net.model'
