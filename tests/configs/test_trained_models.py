"""The toolboxes' trained models with ResNeSt and Res2Net backbones (:data:`mmfish.variants.
TRAINED`): each row is the installed toolbox's metafile entry, and its mmfish config
(``configs/<toolbox>/trained/``) builds the toolbox's model with mmfish's backbone, which the
toolbox's checkpoint, converted by ``mmfish.convert``, makes compute what the toolbox's model
computes (float64, on a small random input: every feature level, and a detector's boxes,
scores, labels and masks)."""
import importlib
import re
import time
from pathlib import Path

import pytest
import torch
import yaml
from mmengine.config import Config

from mmfish.weights import ConversionError, convert_checkpoint
from mmfish.testing import max_rel_error, randomize_norms
from mmfish.variants import TRAINED

from tests.conftest import REPO, build_in_scope

ROWS = list(TRAINED.values())
#: one model per toolbox and family in the default run; the others are marked slow
FAST = {'mmdet/faster-rcnn_res2net-101_fpn_2x_coco',
        'mmdet/faster-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco',
        'mmseg/resnest_s101-d8_pspnet_4xb2-80k_cityscapes512x1024',
        'mmpose/td-hm_resnest50_8xb64-210e_coco-256x192',
        'mmpretrain/res2net50-w14-s8_3rdparty_8xb32_in1k'}
#: largest error of the mmfish model's outputs, absolute and relative to the largest magnitude of
#: the toolbox model's (:func:`mmfish.testing.max_rel_error`), in float64
TOLERANCE = 1e-9


def _ids(rows):
    return [row.name for row in rows]


def _toolbox_configs(toolbox: str) -> Path:
    """The installed toolbox's ``.mim/configs``."""
    return Path(importlib.import_module(toolbox).__file__).parent / '.mim' / 'configs'


def _metafile_models(row):
    """The models of the metafiles (``*.yml``, ``*.yaml``) next to the row's toolbox config."""
    models = []
    folder = (_toolbox_configs(row.toolbox) / row.toolbox_config).parent
    for path in sorted(folder.glob('*.y*ml')):
        models += (yaml.safe_load(path.read_text()) or {}).get('Models') or []
    return models


# -- the rows and their configs --------------------------------------------------------------
@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_trained_config(row):
    path = REPO / row.config
    assert path.is_file(), f'{row.config} is missing'
    cfg = Config.fromfile(str(path))
    assert cfg.load_from == f'mmfish://{row.name}'
    assert cfg.custom_imports == dict(imports=['mmfish'], allow_failed_imports=False)
    assert cfg.default_hooks.checkpoint.type == 'mmfish.AtomicCheckpointHook'
    backbone = cfg.model.backbone
    assert backbone.type in ('mmfish.ResNeSt', 'mmfish.Res2Net')
    assert backbone.init_cfg is None  # the whole model comes from load_from
    assert cfg.model.get('pretrained') is None
    if row.toolbox == 'mmdet' and backbone.type == 'mmfish.Res2Net':
        assert backbone.split_style == 'mmdet'  # mmdet's Bottle2neck
    if row.toolbox == 'mmpose':  # mmpose's ResNeSt: a 64-channel stem whatever the depth
        assert backbone.stem_channels == 64
    # the header says how to use it
    assert f'--checkpoint mmfish://{row.name}' in path.read_text()


@pytest.mark.parametrize('row', ROWS, ids=_ids(ROWS))
def test_trained_row_is_the_metafile_entry(row):
    assert (_toolbox_configs(row.toolbox) / row.toolbox_config).is_file()
    entry = next((m for m in _metafile_models(row) if m['Name'] == row.model), None)
    assert entry is not None, f'{row.model} is not in {row.toolbox}\'s metafile'
    assert entry['Config'] == f'configs/{row.toolbox_config}'
    assert entry['Weights'] == row.url
    results = entry['Results']
    results = [results] if isinstance(results, dict) else results
    metrics = {k: v for r in results for k, v in r['Metrics'].items()}
    assert {k: metrics.get(k) for k in row.scores} == row.scores
    assert {r['Dataset'] for r in results} == {row.dataset}
    assert row.file == row.url.rsplit('/', 1)[1].replace('%2B', '+')


def test_every_metafile_entry_is_a_row():
    """The metafiles the rows come from list no other trained ResNeSt or Res2Net model."""
    listed = {(row.toolbox, m['Name']) for row in ROWS for m in _metafile_models(row)
              if m.get('Weights') and re.search(r'res2net|resnest|_s\d+[-_]', m['Name'])}
    assert listed == {(row.toolbox, row.model) for row in ROWS}


# -- parity ----------------------------------------------------------------------------------
def _toolbox_model_cfg(row):
    cfg = Config.fromfile(str(_toolbox_configs(row.toolbox) / row.toolbox_config))
    cfg.model.backbone.init_cfg = None  # nothing downloaded
    if 'pretrained' in cfg.model:
        cfg.model.pretrained = None
    return cfg


def _classes(cfg, toolbox):
    """The class names of the config's test dataset (its METAINFO), or None."""
    scope = importlib.import_module(f'{toolbox}.registry')
    importlib.import_module(f'{toolbox}.datasets')
    dataset = scope.DATASETS.get(cfg.test_dataloader.dataset.type)
    classes = getattr(dataset, 'METAINFO', {}).get('classes')
    return tuple(classes) if classes else None


def _checkpoint(row, index, cfg, state):
    """``state`` saved as the toolbox saves it: alternately MMEngine's runner, and the mmcv
    1.x runner of the 2020-21 releases (``publish_model`` kept ``meta`` and ``state_dict``)."""
    classes = _classes(cfg, row.toolbox)
    if index % 2 == 0:
        import mmengine
        dataset_meta = {'classes': classes} if classes else {'dataset_name': 'coco'}
        return {'meta': {'cfg': cfg.pretty_text, 'mmengine_version': mmengine.__version__,
                         'epoch': 12, 'iter': 1000, 'dataset_meta': dataset_meta,
                         'seed': 0, 'experiment_name': row.model},
                'state_dict': state, 'message_hub': {},
                'optimizer': {'state': {}, 'param_groups': [
                    dict(lr=0.02, momentum=0.9, weight_decay=0.0001, params=[0, 1])]}}
    toolbox = {'mmpretrain': 'mmcls'}.get(row.toolbox, row.toolbox)
    meta = {f'{toolbox}_version': '2.7.0', 'config': cfg.pretty_text, 'mmcv_version': '1.2.0'}
    if classes:
        meta['CLASSES'] = classes
    return {'meta': meta, 'state_dict': state}


class _FloatNms:
    """mmcv's compiled ops with ``nms`` taking float64 boxes (its CPU kernel takes float32
    only): the boxes and scores are rounded to float32 to choose the kept indices."""

    def __init__(self, ext):
        self._ext = ext

    def __getattr__(self, name):
        return getattr(self._ext, name)

    def nms(self, bboxes, scores, **kwargs):
        return self._ext.nms(bboxes.float(), scores.float(), **kwargs)


def _detection_outputs(model, x):
    from mmdet.structures import DetDataSample
    h, w = x.shape[-2:]
    samples = [DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                           batch_input_shape=(h, w), scale_factor=(1., 1.)))]
    outputs = []  # the features predict computes (one backbone pass, float64 is slow)
    extract = model.extract_feat

    def extract_feat(inputs):
        feats = extract(inputs)
        outputs.extend(feats)
        return feats

    model.extract_feat = extract_feat
    pred = model.predict(x, samples)[0].pred_instances
    del model.extract_feat
    assert len(outputs) == 5  # the FPN's levels
    outputs += [pred.bboxes, pred.scores, pred.labels.double()]
    if 'masks' in pred:
        outputs.append(pred.masks.double())
    return outputs


def _outputs(row, model, x):
    if row.toolbox == 'mmdet':
        return _detection_outputs(model, x)
    if row.toolbox == 'mmpose':
        return [model(x, None, mode='tensor')]
    return [model(x, mode='tensor')]


def _input(row, cfg):
    if row.toolbox == 'mmpose':  # half the codec's size in each direction
        width, height = cfg.codec.input_size
        return torch.randn(1, 3, height // 2, width // 2, dtype=torch.float64)
    return torch.randn(1, 3, 64, 64, dtype=torch.float64)


def _test_cfg(row, model_cfg):
    """Both detectors infer with 100 proposals and 20 detections (less RoI and mask work, the
    same code), and keep boxes of any score (random heads score about 1 / classes: none would
    pass the 0.05 threshold)."""
    if row.toolbox == 'mmdet':
        model_cfg.test_cfg.rpn.max_per_img = 100
        model_cfg.test_cfg.rcnn.update(score_thr=0.0, max_per_img=20)
    return model_cfg


def _parity_params():
    return [pytest.param(i, row, id=row.name,
                         marks=() if row.name in FAST else pytest.mark.slow)
            for i, row in enumerate(ROWS)]


@pytest.mark.parametrize('index,row', _parity_params())
def test_converted_checkpoint_computes_what_the_toolbox_model_computes(index, row, tmp_path,
                                                                     monkeypatch):
    start = time.perf_counter()
    if row.toolbox == 'mmdet':
        nms = importlib.import_module('mmcv.ops.nms')  # the module (mmcv.ops.nms: a function)
        monkeypatch.setattr(nms, 'ext_module', _FloatNms(nms.ext_module))
        # mmdet pastes masks with a float32 sampling grid: paste float32 mask probabilities
        from mmdet.models.roi_heads.mask_heads import fcn_mask_head
        paste = fcn_mask_head._do_paste_mask
        monkeypatch.setattr(fcn_mask_head, '_do_paste_mask',
                            lambda masks, boxes, *args, **kwargs: paste(
                                masks.float(), boxes.float(), *args, **kwargs))
    cfg = _toolbox_model_cfg(row)
    _test_cfg(row, cfg.model)
    torch.manual_seed(index)
    theirs = build_in_scope(row.toolbox, cfg.model)
    randomize_norms(theirs)
    src, dst = tmp_path / row.file, tmp_path / 'converted.pth'
    torch.save(_checkpoint(row, index, cfg, theirs.state_dict()), src)
    theirs.double().eval()
    meta = convert_checkpoint(None, str(src), str(dst), check_hash=False, log=lambda s: None,
                              trained=row.name)['mmfish']
    assert meta['config'] == row.config
    src.unlink()

    ours_cfg = _test_cfg(row, Config.fromfile(str(REPO / row.config)).model)
    ours = build_in_scope(row.toolbox, ours_cfg)
    ours.load_state_dict(torch.load(str(dst), map_location='cpu')['state_dict'], strict=True)
    ours.double().eval()
    x = _input(row, cfg)
    with torch.no_grad():
        expected, got = _outputs(row, theirs, x), _outputs(row, ours, x)
    del theirs, ours
    assert [t.shape for t in got] == [t.shape for t in expected]
    if row.toolbox == 'mmdet':  # boxes to compare
        assert len(expected[5]) > 0
    error = max_rel_error(got, expected)
    abs_error = max((a - b).abs().max().item() for a, b in zip(got, expected) if a.numel())
    print(f'{row.name}: max relative error {error:.2e}, absolute {abs_error:.2e}, '
          f'{time.perf_counter() - start:.1f} s')
    assert error <= TOLERANCE and abs_error <= TOLERANCE


def test_bare_mmdet_res2net_detector_is_refused(tmp_path):
    """Without a config in its meta, an mmdet Res2Net detector's weights cannot tell whether the
    first block of layer1 pools its last split (mmdet's Bottle2neck does not): the converter
    asks for ``--split-style``."""
    backbone = build_in_scope('mmdet', dict(type='Res2Net', depth=50, scales=4, base_width=26,
                                            base_channels=16))
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state['neck.lateral_convs.0.conv.weight'] = torch.zeros(256, 64, 1, 1)
    state['rpn_head.rpn_conv.weight'] = torch.zeros(256, 256, 3, 3)
    src = tmp_path / 'faster-rcnn_r2-50.pth'
    torch.save({'state_dict': state}, src)
    with pytest.raises(ConversionError, match='--split-style'):
        convert_checkpoint(None, str(src), str(tmp_path / 'out.pth'), check_hash=False,
                           log=lambda s: None)
    assert not (tmp_path / 'out.pth').exists()
