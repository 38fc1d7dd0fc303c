"""Whole Cascade (Mask) R-CNN (:class:`mmfish.deploy.cascade.CascadeDetector`): tiny twins
of mmfish's cascade configs (the tiny Mask R-CNN twin's backbone, neck and RPN head,
narrowed as in test_whole_export.py, with the cascade config's three-stage RoI head, train
and test settings at the same widths and 3 classes; random weights) give mmdet's own
``predict`` exactly in PyTorch, and in onnxruntime from one dynamic export at two input
sizes: the same detections, boxes within 1e-3 pixel, scores within 1e-4, pasted masks of
IoU above 0.99 (measured: boxes within 7.8e-5 pixel, scores within 5.1e-7, mask IoU 1.0).

``make test`` runs the module against mmdet's predict in PyTorch and the refusals; the
exports (about 50 s each) are ``make test-all``'s."""
import pytest
import torch
from mmengine.config import Config

from mmfish.deploy import load_model
from mmfish.deploy.cascade import CascadeDetector
from mmfish.deploy.detections import compare, mmdet_predict
from mmfish.deploy.detector import TwoStageDetector, UnsupportedDetector
from mmfish.deploy.whole import read_images, summary
from mmfish.deploy.wrappers import wrap
from mmfish.testing import randomize_norms

from tests.conftest import REPO
from tests.deploy.test_detector_export import SIZES, _assert_agree, _export_and_compare, _files
from tests.deploy.test_whole_export import WIDTH, tiny_config

#: (family, mask) -> mmfish's cascade config whose RoI head the twin takes
CASCADES = {
    ('resnest', True): 'resnest/cascade-mask-rcnn_resnest50_fpn_syncbn-all_ms-1x_coco.py',
    ('resnest', False): 'resnest/cascade-rcnn_resnest50_fpn_syncbn-all_ms-range-1x_coco.py',
    ('res2net', True): 'res2net/cascade-mask-rcnn_res2net101-v1b_fpn_20e_coco.py',
}
#: how many detections the random-weight twins are given (the score threshold is set
#: between the scores of this many and one more, on the first image)
DETECTIONS = 20


def cascade_config(family: str, mask: bool = True) -> Config:
    """The tiny cascade twin: the family's tiny Mask R-CNN twin (narrowed) with the RoI head,
    ``train_cfg`` and ``test_cfg`` of mmfish's cascade config, at the twin's widths."""
    cfg = tiny_config('detector', family)
    source = Config.fromfile(str(REPO / 'configs' / 'mmdet' / CASCADES[family, mask]))
    roi = source.model.roi_head
    for head in roi.bbox_head:
        head.update(num_classes=3, in_channels=WIDTH, conv_out_channels=WIDTH,
                    fc_out_channels=256)
    roi.bbox_roi_extractor.out_channels = WIDTH
    if mask:
        roi.mask_roi_extractor.out_channels = WIDTH
        roi.mask_head.update(num_classes=3, in_channels=WIDTH, conv_out_channels=WIDTH)
    cfg.model.type = 'CascadeRCNN'
    for key in ('roi_head', 'train_cfg', 'test_cfg'):  # replaced (update would merge)
        cfg.model[key] = roi if key == 'roi_head' else source.model[key]
    return cfg


def _model(family: str, mask: bool = True, image=None):
    """The twin with random weights (BatchNorms randomised) and, given ``image``, a score
    threshold that leaves :data:`DETECTIONS` detections on it."""
    model, cfg, task = load_model(cascade_config(family, mask))
    assert task == 'detector' and type(model).__name__ == 'CascadeRCNN'
    randomize_norms(model, seed=0)
    if image is not None:
        scores = mmdet_predict(model, image)['scores']  # config's score_thr: 0.05
        assert len(scores) > DETECTIONS
        threshold = float(scores[DETECTIONS - 1] + scores[DETECTIONS]) / 2
        model.test_cfg.rcnn.score_thr = cfg.model.test_cfg.rcnn.score_thr = threshold
    return model, cfg


@pytest.mark.parametrize('agnostic', [
    True, pytest.param(False, marks=pytest.mark.slow, id='class-specific')])
def test_cascade_module_is_mmdets_predict(agnostic, workspace):
    """In PyTorch the exported module gives mmdet's ``CascadeRoIHead.predict`` bit for bit:
    boxes, scores, labels and the pasted masks of the mean of the stages' sigmoids; also with
    class-specific regression (``regress_by_class`` of the argmax class between stages),
    which no mmfish config uses."""
    from mmfish.deploy.detections import paste_masks
    x = read_images(_files(workspace), SIZES[0])[:1]
    if agnostic:
        model, _ = _model('resnest', True, x)
    else:
        cfg = cascade_config('resnest', True)
        for head in cfg.model.roi_head.bbox_head:
            head.reg_class_agnostic = False
        model, _, _ = load_model(cfg)
        randomize_norms(model, seed=0)
        scores = mmdet_predict(model, x)['scores']
        model.test_cfg.rcnn.score_thr = float(scores[DETECTIONS - 1] + scores[DETECTIONS]) / 2
        assert model.roi_head.bbox_head[0].fc_reg.out_features == 12
    module = wrap(model, 'detector')
    assert isinstance(module, CascadeDetector)
    assert module.outputs == ('boxes', 'scores', 'labels', 'masks')
    with torch.no_grad():
        boxes, scores, labels, masks = (t.numpy() for t in module(x))
        ref = mmdet_predict(model, x)
    ours = dict(boxes=boxes, scores=scores, labels=labels,
                masks=paste_masks(masks, boxes, *x.shape[2:]))
    diff = compare(ours, ref)
    assert diff['count'] == diff['ref_count'] == DETECTIONS and diff['labels_equal'], diff
    assert diff['boxes'] == 0 and diff['scores'] == 0 and diff['mask_iou_all'] == 1, diff


def test_cascade_refusals():
    """What the graph does not compute as mmdet does is refused by name, stage by stage;
    the Faster/Mask R-CNN module refuses a cascade head."""
    model, _ = _model('resnest', True)
    with pytest.raises(UnsupportedDetector, match='roi_head is CascadeRoIHead, not '
                                                  'StandardRoIHead'):
        TwoStageDetector(model)
    model.roi_head.mask_roi_extractor[2].roi_layers[0].aligned = False
    with pytest.raises(UnsupportedDetector, match=r'the RoI extractors of stage 2 must be '
                                                  r'SingleRoIExtractor of RoIAlign'):
        wrap(model, 'detector')
    model.roi_head.mask_roi_extractor[2].roi_layers[0].aligned = True
    model.roi_head.bbox_head[1].loss_cls.custom_activation = True  # as a custom loss has
    with pytest.raises(UnsupportedDetector, match='the box head of stage 1 needs softmax '
                                                  'scores'):
        wrap(model, 'detector')


def _case(family, mask):
    return pytest.param(family, mask, marks=pytest.mark.slow,
                        id=f'cascade-{"mask-" if mask else ""}rcnn-{family}')


@pytest.mark.parametrize('family,mask', [_case(*key) for key in CASCADES])
def test_exported_cascade_gives_mmdet_predictions(family, mask, workspace, tmp_path):
    inputs = [read_images(_files(workspace), size) for size in SIZES]
    model, cfg = _model(family, mask, inputs[0][:1])
    path = tmp_path / f'cascade-{family}.onnx'
    result = _export_and_compare(model, cfg, inputs, path)
    assert result['outputs'] == ['boxes', 'scores', 'labels'] + (['masks'] if mask else [])
    _assert_agree(result['detections'])
    print(summary(result))  # the measured agreement (pytest -s shows it)
