"""The exported classifier, segmenter and pose model of a shipped full config of each toolbox
against that toolbox's own inference from the same config: the model built by the toolbox's
``init_model`` (not by mmfish's export code), seeded random weights, an image prepared by the
config's own test pipeline and predicted by the model's ``test_step`` (what the toolboxes'
inferencers run). The ONNX graph (exported by ``export_whole`` from the config path and a
checkpoint of those weights) must give the same scores, logits and heatmaps to 1e-4
(relative).

The classifier is the config that showed the export building ``cfg.model`` alone, without the
config's top-level ``data_preprocessor`` (no channel flip, no normalisation): 20-34 % off."""
import time

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmfish.deploy import export_whole, load_model
from mmfish.deploy.build import model_config
from mmfish.testing import max_rel_error, randomize_norms

from tests.conftest import REPO

#: the agreement required between the graph and the toolbox's own inference (relative)
AGREEMENT = 1e-4
CLASSIFIER = REPO / 'configs/mmpretrain/res2netdla/res2next-dla60_8xb32_in1k.py'
SEGMENTER = REPO / 'configs/mmseg/res2net/fcn_res2net50-v1b-d8_4xb4-160k_ade20k-512x512.py'
POSE = REPO / 'configs/mmpose/res2net/td-hm_res2net50-v1b_8xb64-210e_coco-256x192.py'
#: the segmenter's test-time resize, lowered from the config's (2048, 512) so that the
#: forwards stay small; the images below are of sizes that this resize leaves as they are
SEG_SCALE = (256, 96)
SEG_SIZES = [(96, 128), (96, 160)]


def _image(path, h, w, seed=0):
    """A random BGR image of ``h x w`` written losslessly to ``path``."""
    img = np.random.RandomState(seed).randint(0, 256, (h, w, 3), dtype=np.uint8)
    cv2.imwrite(str(path), img)
    return str(path)


def _save(model, path):
    """``model`` with random BatchNorm statistics, its weights saved to ``path``."""
    randomize_norms(model, seed=0)
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return str(path)


def _onnx(path, x):
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return [torch.from_numpy(o) for o in session.run(None, {'images': x.numpy()})]


def _pipeline(cfg_pipeline, scope):
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope(scope)
    return Compose(cfg_pipeline)


def test_runner_merges_the_top_level_preprocessor():
    """The model is built as MMEngine's Runner builds it: mmpretrain's configs keep the data
    preprocessor at the top level (BGR -> RGB, ImageNet mean and standard deviation)."""
    cfg = Config.fromfile(str(CLASSIFIER))
    assert 'data_preprocessor' not in cfg.model and cfg.data_preprocessor.to_rgb
    assert model_config(cfg).data_preprocessor == cfg.data_preprocessor
    assert 'data_preprocessor' not in cfg.model  # the config itself is left as it is
    # the model flips and normalises as the config says (what the graph starts with)
    model, _, task = load_model(cfg)
    pre = model.data_preprocessor
    assert task == 'classifier' and pre.to_rgb and pre._enable_normalize
    assert torch.allclose(pre.mean.flatten(), torch.tensor(cfg.data_preprocessor.mean))
    # a model's own preprocessor is kept, as the Runner keeps it
    cfg.model.data_preprocessor = dict(num_classes=3)
    assert model_config(cfg).data_preprocessor == dict(num_classes=3)


def test_classifier_agrees_with_mmpretrain(tmp_path):
    """Res2NeXt-DLA-60 (the full ImageNet config): the ONNX scores are mmpretrain's
    ``pred_score`` from its own ``init_model`` and the config's test pipeline (resize the
    short edge to 256, center-crop 224)."""
    from mmengine.dataset import pseudo_collate
    from mmpretrain.apis import init_model
    cfg = Config.fromfile(str(CLASSIFIER))
    toolbox = init_model(Config(cfg.to_dict()), device='cpu').eval()
    ckpt = _save(toolbox, tmp_path / 'weights.pth')
    pipeline = _pipeline(cfg.test_dataloader.dataset.pipeline, 'mmpretrain')
    batch = pseudo_collate([pipeline(dict(img_path=_image(tmp_path / 'a.png', 240, 300)))])
    with torch.no_grad():
        expected = torch.stack([s.pred_score for s in toolbox.test_step(batch)])
    x = batch['inputs'][0][None].float()
    assert x.shape == (1, 3, 224, 224)
    start = time.perf_counter()
    result = export_whole(str(CLASSIFIER), str(tmp_path / 'cls.onnx'), checkpoint=ckpt,
                          inputs=[x])
    print(f'classifier: export and check {time.perf_counter() - start:.1f} s')
    logits, scores = _onnx(tmp_path / 'cls.onnx', x)
    assert result['max_rel_err'] < AGREEMENT
    # the logits too: the toolbox model's own, from its preprocessor and forward
    with torch.no_grad():
        data = toolbox.data_preprocessor(batch, False)
        errors = (max_rel_error(scores, expected),
                  max_rel_error(logits, toolbox(data['inputs'], mode='tensor')))
    print(f'classifier against mmpretrain: scores {errors[0]:.1e}, logits {errors[1]:.1e}')
    assert max(errors) < AGREEMENT


@pytest.mark.slow
def test_segmenter_agrees_with_mmseg(tmp_path):
    """FCN with Res2Net-50 v1b (the full ADE20K config, ``test_cfg`` mode ``whole``): the ONNX
    logits (dynamic height and width, exported at one size and run at another) are mmseg's
    ``seg_logits`` from its own ``init_model`` and ``inference_model``'s data preparation (the
    config's ``test_pipeline``), on images that its resize leaves at their size."""
    from mmseg.apis import init_model
    from mmseg.apis.inference import _preprare_data
    cfg = Config.fromfile(str(SEGMENTER))
    assert cfg.model.test_cfg.mode == 'whole'
    resize = [t for t in cfg.test_pipeline if t.type == 'Resize']
    assert len(resize) == 1 and resize[0].keep_ratio
    resize[0].scale = SEG_SCALE
    toolbox = init_model(cfg, device='cpu').eval()
    ckpt = _save(toolbox, tmp_path / 'weights.pth')
    inputs, expected = [], []
    for i, (h, w) in enumerate(SEG_SIZES):
        data, _ = _preprare_data(_image(tmp_path / f'{i}.png', h, w, seed=i), toolbox)
        with torch.no_grad():
            expected.append(toolbox.test_step(data)[0].seg_logits.data[None])
        inputs.append(data['inputs'][0][None].float())
        assert inputs[-1].shape == (1, 3, h, w) == expected[-1].shape[:1] + (3, h, w)
    start = time.perf_counter()
    result = export_whole(cfg, str(tmp_path / 'seg.onnx'), checkpoint=ckpt, inputs=inputs)
    print(f'segmenter: export and check {time.perf_counter() - start:.1f} s')
    assert result['dynamic'] and result['max_rel_err'] < AGREEMENT
    errors = [max_rel_error(_onnx(tmp_path / 'seg.onnx', x)[0], want)
              for x, want in zip(inputs, expected)]
    print(f'segmenter against mmseg: logits {", ".join(f"{e:.1e}" for e in errors)}')
    assert max(errors) < AGREEMENT


@pytest.mark.slow
def test_pose_model_agrees_with_mmpose(tmp_path):
    """Top-down heatmaps with Res2Net-50 v1b (the full COCO config, 256 x 192 crops): the ONNX
    heatmaps are mmpose's (``test_step`` with ``output_heatmaps``) from its own
    ``init_model`` and the config's test pipeline (the person box's affine crop), as
    ``inference_topdown`` prepares it. Flip testing is turned off on the toolbox's side: the
    graph is the un-flipped model (a flip test runs it twice, outside)."""
    from mmengine.dataset import pseudo_collate
    from mmpose.apis import init_model
    options = {'model.test_cfg.flip_test': False, 'model.test_cfg.output_heatmaps': True}
    toolbox = init_model(str(POSE), device='cpu', cfg_options=options).eval()
    ckpt = _save(toolbox, tmp_path / 'weights.pth')
    pipeline = _pipeline(toolbox.cfg.test_dataloader.dataset.pipeline, 'mmpose')
    info = dict(img_path=_image(tmp_path / 'p.png', 300, 240),
                bbox=np.array([[30, 20, 200, 280]], dtype=np.float32),
                bbox_score=np.ones(1, dtype=np.float32))
    info.update(toolbox.dataset_meta)
    batch = pseudo_collate([pipeline(info)])
    with torch.no_grad():
        expected = toolbox.test_step(batch)[0].pred_fields.heatmaps[None]
    x = batch['inputs'][0][None].float()
    assert x.shape == (1, 3, 256, 192) and expected.shape == (1, 17, 64, 48)
    start = time.perf_counter()
    result = export_whole(str(POSE), str(tmp_path / 'pose.onnx'), checkpoint=ckpt, inputs=[x])
    print(f'pose: export and check {time.perf_counter() - start:.1f} s')
    assert result['max_rel_err'] < AGREEMENT
    error = max_rel_error(_onnx(tmp_path / 'pose.onnx', x)[0], expected)
    print(f'pose against mmpose: heatmaps {error:.1e}')
    assert error < AGREEMENT
