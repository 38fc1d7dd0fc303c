"""Every detection and segmentation config loads, builds its model in its toolbox and runs a
forward pass on a small input."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmfish.hub import released_variants

from tests.conftest import build_in_scope

CONFIGS = Path(__file__).parents[2] / 'configs'
#: not the configs of the toolboxes' trained models (trained/: test_trained_models.py)
_SKIP = ('_base_', 'trained')
DET = sorted(p for p in (CONFIGS / 'mmdet').rglob('*.py') if not set(_SKIP) & set(p.parts))
SEG = sorted(p for p in (CONFIGS / 'mmseg').rglob('*.py') if not set(_SKIP) & set(p.parts))
SEG.append(CONFIGS / 'deeplabv3_resnest101_ade20k.py')


def _ids(paths):
    return [p.stem for p in paths]


def _check_common(cfg):
    assert cfg.custom_imports == dict(imports=['mmfish'], allow_failed_imports=False)
    backbone = cfg.model.backbone
    assert backbone.type.startswith('mmfish.')
    init = backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    # released weights, by name: fetched, converted and cached on first use (mmfish.hub)
    assert init.checkpoint.startswith('mmfish://')
    assert init.checkpoint[len('mmfish://'):] in released_variants()


@pytest.mark.parametrize('path', DET, ids=_ids(DET))
def test_detection_config(path):
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    from mmdet.structures import DetDataSample
    cfg = Config.fromfile(str(path))
    _check_common(cfg)
    if 'rpn' in cfg.model.get('test_cfg', {}):
        # 100 proposals instead of 1000: the same code runs, the RoI heads take less CPU time
        cfg.model.test_cfg.rpn.max_per_img = 100
    model = build_in_scope('mmdet', cfg.model).eval()
    assert cfg.model.neck.in_channels == list(model.backbone.out_channels)
    x = torch.rand(1, 3, 96, 128) * 255
    sample = DetDataSample(metainfo=dict(img_shape=(96, 128), ori_shape=(96, 128),
                                         pad_shape=(96, 128), scale_factor=(1., 1.)))
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[x[0]], data_samples=[sample]), False)
        results = model(**data, mode='predict')
    assert len(results) == 1
    if cfg.model.type == 'PanopticFPN':  # one segment id per pixel, no instance list
        panoptic = results[0].pred_panoptic_seg.sem_seg
        assert panoptic.shape == (1, 96, 128)
        num_classes = model.num_things_classes + model.num_stuff_classes
        # ids: class + INSTANCE_OFFSET * instance; unlabelled pixels are num_classes
        assert ((panoptic % INSTANCE_OFFSET) <= num_classes).all()
    else:
        assert 'bboxes' in results[0].pred_instances


@pytest.mark.parametrize('path', SEG, ids=_ids(SEG))
def test_segmentation_config(path):
    cfg = Config.fromfile(str(path))
    _check_common(cfg)
    model = build_in_scope('mmseg', cfg.model).eval()
    num_classes = cfg.model.decode_head.num_classes
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert logits.shape[:2] == (1, num_classes)
    channels = model.backbone.out_channels
    assert cfg.model.decode_head.in_channels == channels[cfg.model.decode_head.in_index]
    assert cfg.model.auxiliary_head.in_channels == channels[cfg.model.auxiliary_head.in_index]
    if 'c1_in_channels' in cfg.model.decode_head:  # DeepLabV3+'s decoder reads level 0
        assert cfg.model.decode_head.c1_in_channels == channels[0]


def test_design_card_config_path():
    cfg = Config.fromfile(str(CONFIGS / 'deeplabv3_resnest101_ade20k.py'))
    assert cfg.model.backbone.type == 'mmfish.ResNeSt' and cfg.model.backbone.depth == 101
    assert cfg.model.decode_head.type == 'ASPPHead' and cfg.model.decode_head.num_classes == 150
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_dataloader.batch_size == 4


def test_user_config_inheriting_an_mmfish_config(tmp_path):
    """A new experiment: inherit an mmfish config, change the depth and the schedule."""
    base = (CONFIGS / 'mmdet' / 'resnest' /
            'mask-rcnn_resnest50_fpn_syncbn-backbone+head_ms-1x_coco.py')
    user = tmp_path / 'mask-rcnn_resnest200_fpn_2x_coco.py'
    user.write_text(
        f"_base_ = '{base}'\n"
        "model = dict(backbone=dict(\n"
        "    depth=200, stem_channels=128,\n"
        "    init_cfg=dict(checkpoint='mmfish://resnest200')))\n"
        "train_cfg = dict(max_epochs=24)\n"
        "param_scheduler = [dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,\n"
        "                        end=500),\n"
        "                   dict(type='MultiStepLR', begin=0, end=24, by_epoch=True,\n"
        "                        milestones=[16, 22], gamma=0.1)]\n")
    cfg = Config.fromfile(str(user))
    assert cfg.model.backbone.depth == 200 and cfg.train_cfg.max_epochs == 24
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'  # the rest is inherited
    model = build_in_scope('mmdet', cfg.model)
    assert len(model.backbone.layer3) == 36


FULL = DET + SEG + sorted(p for p in (CONFIGS / 'mmpretrain').rglob('*.py')
                          if not set(_SKIP) & set(p.parts))


@pytest.mark.parametrize('path', FULL, ids=_ids(FULL))
def test_checkpoints_are_written_atomically(path):
    """Every full config keeps its toolbox's checkpoint settings (interval, max_keep_ckpts)
    and saves them through mmfish's atomic hook."""
    from mmengine.registry import HOOKS

    import mmfish.engine  # noqa: F401
    hook_cfg = Config.fromfile(str(path)).default_hooks.checkpoint
    assert hook_cfg.type == 'mmfish.AtomicCheckpointHook'
    assert 'interval' in hook_cfg  # merged with the toolbox's schedule, not replacing it
    hook = HOOKS.build(dict(hook_cfg))
    assert type(hook).__name__ == 'AtomicCheckpointHook'
