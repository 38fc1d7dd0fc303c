"""Whole models built from the tiny twins' configs, exported to ONNX and checked in onnxruntime
against PyTorch on the tiny datasets' images: a classifier, a segmenter (dynamic height and
width, checked at two sizes), a top-down pose model and a detector's backbone, neck and RPN
head (``part='rpn'``; the whole detectors: test_detector_export.py), for each family
(ResNeSt, Res2Net, FishNet). The ResNeSt cases use make demo's quarter-width twins; the
Res2Net and FishNet twins are narrowed the same way here (16 base channels, narrower heads),
which leaves the export path as it is."""
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS

from mmfish.checkpoint.io import CheckpointError
from mmfish.deploy import ONNX_TOLERANCE, TASKS, UnsupportedConfig, export_whole, load_model
from mmfish.deploy.cli import main
from mmfish.deploy.whole import read_images
from mmfish.deploy.wrappers import AdaptiveAvgPool2d, wrap
from mmfish.testing import max_rel_error, randomize_norms

from tests.conftest import REPO

TINY = REPO / 'configs' / 'tiny'
#: (task, family) -> the tiny twin's config; ``narrow``: made narrower by :func:`narrowed`
CONFIGS = {
    ('classifier', 'resnest'): ('demo/resnest50-w16_1xb16-60i_tiny-imagenet.py', False),
    ('classifier', 'res2net'): ('mmpretrain/res2net50-w26-s4_1xb16-200i_tiny-imagenet.py', True),
    ('classifier', 'fishnet'): ('mmpretrain/fishnet150_1xb16-200i_tiny-imagenet.py', True),
    ('segmenter', 'resnest'): ('demo/deeplabv3_resnest50-w16-d8_1xb4-300i_tiny-ade20k-96px.py',
                               False),
    ('segmenter', 'res2net'): ('mmseg/pspnet_res2net50-v1b-d8_1xb4-100i_tiny-ade20k.py', True),
    ('segmenter', 'fishnet'): ('mmseg/fcn_fishnet150_1xb4-100i_tiny-ade20k.py', True),
    ('pose', 'resnest'): ('demo/td-hm_resnest50-w16_1xb8-150i_tiny-coco-pose.py', False),
    ('pose', 'res2net'): ('mmpose/td-hm_res2net50-v1b_1xb8-120i_tiny-coco-pose.py', True),
    ('pose', 'fishnet'): ('mmpose/td-hm_fishnet150_1xb8-120i_tiny-coco-pose.py', True),
    ('detector', 'resnest'): ('demo/mask-rcnn_resnest50-w16_fpn_1xb4-80i_tiny-coco.py', False),
    ('detector', 'res2net'): ('mmdet/mask-rcnn_res2net50-v1b_fpn_1xb4-150i_tiny-coco.py', True),
    ('detector', 'fishnet'): ('mmdet/mask-rcnn_fishnet150_fpn_1xb4-150i_tiny-coco.py', True),
}
#: per task: the tiny dataset's validation images and the input sizes (height, width) checked
IMAGES = {'classifier': ('imagenet', [(64, 64)]),
          'segmenter': ('ade20k', [(96, 128), (128, 192)]),
          'pose': ('coco_pose', [(64, 64)]),
          'detector': ('coco', [(96, 128)])}
#: the one case per task that make test runs (the others: make test-all)
FAST = {('classifier', 'fishnet'), ('segmenter', 'res2net'), ('pose', 'resnest'),
        ('detector', 'resnest')}
#: narrower heads for the narrowed twins, as make demo's twins have
WIDTH = 64


def _in_channels(chans, in_index):
    return [chans[i] for i in in_index] if isinstance(in_index, (list, tuple)) else \
        chans[in_index]


def narrowed(cfg: Config) -> Config:
    """``cfg`` with a backbone of 16 base channels and heads of :data:`WIDTH` channels."""
    model = cfg.model
    model.backbone.base_channels = 16
    if 'stem_channels' in model.backbone:
        model.backbone.stem_channels = 32
    bb_cfg = dict(model.backbone, out_indices=(0, 1, 2, 3))
    chans = [info['num_chs'] for info in MODELS.build(bb_cfg).feature_info]
    if 'neck' in model and model.neck.type == 'FPN':
        model.neck.update(in_channels=chans, out_channels=WIDTH)
        model.rpn_head.update(in_channels=WIDTH, feat_channels=WIDTH)
        roi = model.roi_head
        roi.bbox_roi_extractor.out_channels = roi.mask_roi_extractor.out_channels = WIDTH
        roi.bbox_head.update(in_channels=WIDTH, fc_out_channels=256)
        roi.mask_head.update(in_channels=WIDTH, conv_out_channels=WIDTH)
    elif 'decode_head' in model:
        for key, width in (('decode_head', WIDTH), ('auxiliary_head', WIDTH // 2)):
            head = model[key]
            head.update(in_channels=_in_channels(chans, head.in_index), channels=width)
    elif 'deconv_out_channels' in model.head:
        model.head.update(in_channels=chans[-1], deconv_out_channels=(WIDTH, ) * 3)
    elif model.get('neck', {}).get('type') == 'mmfish.FishScore':  # halves the channels
        model.neck.in_channels = chans[-1]
        model.head.in_channels = chans[-1] // 2
    else:
        model.head.in_channels = chans[-1]
    return cfg


def tiny_config(task: str, family: str) -> Config:
    name, narrow = CONFIGS[task, family]
    cfg = Config.fromfile(str(TINY / name))
    return narrowed(cfg) if narrow else cfg


def images(workspace, task: str):
    """Two images of the task's tiny dataset (files of its validation split where it has one
    of its own), at each size checked."""
    dataset, sizes = IMAGES[task]
    files = sorted(p for p in (workspace / 'data' / 'tiny' / dataset).rglob('*')
                   if p.suffix.lower() in ('.jpg', '.jpeg'))
    files = ([p for p in files if 'val' in p.parent.name] or files)[:2]
    assert len(files) == 2, f'no images in {dataset}'
    return [read_images(files, size) for size in sizes]


def _case(task, family):
    marks = () if (task, family) in FAST else (pytest.mark.slow, )
    return pytest.param(task, family, marks=marks, id=f'{task}-{family}')


@pytest.mark.parametrize('task,family', [_case(*key) for key in CONFIGS])
def test_whole_model_matches_onnxruntime(task, family, workspace, tmp_path):
    cfg = tiny_config(task, family)
    model, _, found = load_model(cfg)
    assert found == task
    randomize_norms(model, seed=0)  # running statistics that the check exercises
    inputs = images(workspace, task)
    path = tmp_path / f'{task}-{family}.onnx'
    part = 'rpn' if task == 'detector' else 'default'
    result = export_whole(cfg, str(path), model=model, inputs=inputs, part=part)
    assert path.is_file() and result['bytes'] == path.stat().st_size
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    assert result['dynamic'] == (task == 'segmenter')
    assert result['sizes'] == [tuple(x.shape) for x in inputs]
    assert len(result['errors']) == len(inputs) and result['max_rel_err'] < ONNX_TOLERANCE
    # what the graph gives, by task
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    assert [o.name for o in session.get_outputs()] == result['outputs']
    outs = session.run(None, {'images': inputs[-1].numpy()})
    n, _, h, w = inputs[-1].shape
    if task == 'classifier':
        logits, scores = outs
        assert logits.shape == scores.shape == (n, 3) and abs(scores.sum(1) - 1).max() < 1e-5
        assert max_rel_error(torch.from_numpy(scores),
                             torch.from_numpy(logits).softmax(1)) < 1e-5
    elif task == 'segmenter':  # dynamic: the second size, not the exported one
        assert outs[0].shape == (n, 4, h, w) and (h, w) != tuple(inputs[0].shape[2:])
    elif task == 'pose':
        assert outs[0].shape == (n, 17, h // 4, w // 4)
    else:
        levels = len(result['outputs']) // 3
        assert levels == 5 and result['outputs'][levels] == 'rpn_cls0'
        for i in range(levels):
            feat, cls, reg = outs[i], outs[levels + i], outs[2 * levels + i]
            assert feat.shape == (n, WIDTH, -(-h // 2**(i + 2)), -(-w // 2**(i + 2)))
            assert cls.shape == (n, 3, *feat.shape[2:]) and reg.shape == (n, 12, *feat.shape[2:])


def _toolbox_prediction(model, task, x):
    """What the toolbox's own test step predicts from uint8 images ``x``: scores or logits."""
    if task == 'classifier':
        samples = model.test_step(dict(inputs=list(x.byte())))
        return torch.stack([s.pred_score for s in samples])
    from mmseg.structures import SegDataSample
    h, w = x.shape[2:]
    meta = dict(img_shape=(h, w), ori_shape=(h, w))
    samples = model.test_step(dict(inputs=list(x.byte()), data_samples=[
        SegDataSample(metainfo=meta) for _ in range(len(x))]))
    return torch.stack([s.seg_logits.data for s in samples])


def _toolbox_model(task, cfg):
    """The model of ``cfg`` built by its toolbox's own ``init_model`` (not by mmfish's export
    code): mmpretrain's merges the config's top-level ``data_preprocessor``, as MMEngine's
    Runner does."""
    if task == 'classifier':
        from mmpretrain.apis import init_model
    else:
        from mmseg.apis import init_model
    return init_model(Config(cfg.to_dict()), device='cpu').eval()


@pytest.mark.parametrize('family', ['resnest', 'res2net'])
@pytest.mark.parametrize('task', ['classifier', 'segmenter'])
def test_exported_module_computes_the_toolbox_prediction(task, family, workspace):
    """The module that is exported (built by :func:`load_model`, the config's preprocessing in
    the graph) gives what the toolbox's own model (built by the toolbox's ``init_model`` from
    the same config, given the same weights) predicts in its test step: softmax scores, the
    segmenter's logits at the input's size. The classifier twins take the config's
    top-level data preprocessor (BGR to RGB, mean and standard deviation), which a model
    built from ``cfg.model`` alone leaves out."""
    cfg = tiny_config(task, family)
    toolbox = _toolbox_model(task, cfg)
    randomize_norms(toolbox, seed=0)
    model, _, _ = load_model(cfg)
    model.load_state_dict(toolbox.state_dict(), strict=True)
    x = images(workspace, task)[0]
    with torch.no_grad():
        ours = wrap(model, task)(x)
        theirs = _toolbox_prediction(toolbox, task, x)
    if task == 'classifier':
        ours = ours[1]  # the scores (after the logits)
    assert max_rel_error(ours, theirs) < 1e-5


def test_checkpoint_and_command_line(tmp_path, capsys):
    """tools/export.py's command line (run here in-process; the script itself runs in
    test_unsupported_config_is_refused) loads a checkpoint strictly, exports, checks and
    prints the figures."""
    cfg_path = TINY / CONFIGS['classifier', 'resnest'][0]
    model, _, _ = load_model(str(cfg_path))
    randomize_norms(model, seed=1)
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    out = tmp_path / 'out' / 'classifier.onnx'
    assert main([str(cfg_path), str(ckpt), '--out', str(out), '--size', '64', '64',
                 '--dynamic']) == 0
    printed = capsys.readouterr().out
    assert f'exported the classifier (dynamic input size) to {out}' in printed
    assert 'max relative error per input shape: 1x3x64x64: ' in printed
    assert '1x3x96x128: ' in printed and out.is_file()
    import onnxruntime as ort
    x = torch.rand(1, 3, 64, 64) * 255
    got = ort.InferenceSession(str(out), providers=['CPUExecutionProvider']).run(
        None, {'images': x.numpy()})[0]
    with torch.no_grad():  # the checkpoint's weights, not the config's initial ones
        assert max_rel_error(torch.from_numpy(got), wrap(model, 'classifier')(x)[0]) < 1e-4
    # a checkpoint of another model is refused, naming the keys; nothing is written
    torch.save(dict(state_dict={'backbone.other.weight': torch.zeros(1)}), ckpt)
    assert main([str(cfg_path), str(ckpt), '--out', str(tmp_path / 'bad.onnx')]) == 1
    err = capsys.readouterr().err
    assert f'does not fit the model of {cfg_path}' in err and 'backbone.other.weight' in err
    assert not (tmp_path / 'bad.onnx').exists()
    assert main([str(cfg_path), '--out', str(tmp_path / 'x.onnx'), '--size', '0', '64']) == 2


def test_unsupported_config_is_refused(tmp_path):
    """A panoptic segmentor (mmdet PanopticFPN) is not among the exported models: refused
    before anything is built, naming the ones that are."""
    cfg = TINY / 'mmdet' / 'panoptic-fpn_resnest50_fpn_1xb4-100i_tiny-coco-panoptic.py'
    with pytest.raises(UnsupportedConfig, match='cannot export a mmdet PanopticFPN: the '
                                                'exportable models are mmpretrain '
                                                'ImageClassifier, mmseg EncoderDecoder'):
        export_whole(str(cfg), str(tmp_path / 'x.onnx'))
    assert not list(tmp_path.iterdir())
    assert {task for task in TASKS.values()} == {t for t, _ in CONFIGS}
    res = subprocess.run([sys.executable, str(REPO / 'tools' / 'export.py'), str(cfg),
                          '--out', str(tmp_path / 'x.onnx')], capture_output=True, text=True)
    assert res.returncode == 1 and 'cannot export a mmdet PanopticFPN' in res.stderr
    with pytest.raises(CheckpointError, match='is a directory'):
        export_whole(str(TINY / CONFIGS['classifier', 'resnest'][0]), str(tmp_path))
    with pytest.raises(ValueError, match="part='rpn' is a detector's backbone, neck and RPN "
                                         "head; a classifier is exported whole"):
        wrap(torch.nn.Identity(), 'classifier', part='rpn')
    with pytest.raises(ValueError, match="unknown task 'panoptic'; valid: classifier, "):
        wrap(torch.nn.Identity(), 'panoptic')


def test_adaptive_pool_is_exported_right_at_every_size(tmp_path):
    """PSPNet's pools to 2, 3 and 6 bins of inputs they do not divide: the export's own
    pool computes torch's at any size, and its ONNX graph at a size other than the one
    exported (torch.onnx's decomposition fails there: GatherND, invalid index)."""
    for hw in [(12, 16), (7, 5), (13, 29)]:
        x = torch.randn(2, 4, *hw) * 10 + 5
        for bins in [2, 3, (3, 5)]:
            assert max_rel_error(AdaptiveAvgPool2d(bins)(x),
                                 torch.nn.functional.adaptive_avg_pool2d(x, bins)) < 1e-6
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(6))
    module.outputs = ('pooled', )
    from mmfish.deploy.whole import _export
    from mmfish.deploy.wrappers import portable
    path = str(tmp_path / 'pool.onnx')
    _export(portable(module), torch.rand(1, 3, 14, 18), path, dynamic=True, dynamo=True)
    assert isinstance(module[1], torch.nn.AdaptiveAvgPool2d)  # the model is left as it is
    from mmfish.deploy import onnx_max_rel_error
    for hw in [(14, 18), (19, 33)]:
        assert onnx_max_rel_error(path, module, torch.rand(2, 3, *hw)) < 1e-5
