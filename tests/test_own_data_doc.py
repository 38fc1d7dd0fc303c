"""docs/own_data.md holds: each config snippet loads over the shipped config it inherits, every
class count in it is the snippet's, its model builds, and its training dataset reads files laid
out as the guide says; the plain-PyTorch snippet runs and prints what it says."""
import contextlib
import io
import json
import re

import pytest
import torch
from mmengine.config import Config
from PIL import Image

from tests.conftest import REPO, build_in_scope

DOC = REPO / 'docs' / 'own_data.md'
SNIPPETS = dict(re.findall(r'```python\n# (my_configs/[\w.+-]+\.py)\n(.*?)```',
                           DOC.read_text(), re.S))
TOOLBOXES = {'my_configs/resnest50_flowers.py': 'mmpretrain',
             'my_configs/faster-rcnn_resnest50_pets.py': 'mmdet',
             'my_configs/fcn_resnest50_streets.py': 'mmseg'}


def _class_counts(node, path=''):
    """``{path: value}`` of every ``num_classes`` in a config."""
    found = {}
    if isinstance(node, dict):
        for key, value in node.items():
            where = f'{path}.{key}' if path else key
            if key == 'num_classes':
                found[where] = value
            found.update(_class_counts(value, where))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            found.update(_class_counts(value, f'{path}[{i}]'))
    return found


def _image(path, size=(32, 32), mode='RGB'):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size).save(path)


def _write_data(root, toolbox, classes):
    """Files laid out as the guide's section of ``toolbox`` says, two per class or image."""
    if toolbox == 'mmpretrain':
        for split in ('train', 'val'):
            for name in classes:
                for i in range(2):
                    _image(root / 'data/flowers' / split / name / f'{i:04d}.jpg')
    elif toolbox == 'mmdet':
        for split in ('train', 'val'):
            images = [dict(id=i, file_name=f'{i:04d}.jpg', width=64, height=64)
                      for i in range(2)]
            for image in images:
                _image(root / 'data/pets' / split / image['file_name'], (64, 64))
            annotations = [dict(id=i, image_id=i, category_id=i + 1, bbox=[4, 4, 40, 40],
                                area=1600, iscrowd=0) for i in range(2)]
            categories = [dict(id=i + 1, name=n) for i, n in enumerate(classes)]
            path = root / 'data/pets/annotations' / f'{split}.json'
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(dict(images=images, annotations=annotations,
                                            categories=categories)))
    else:
        for split in ('training', 'validation'):
            for i in range(2):
                _image(root / 'data/streets/images' / split / f'{i:04d}.jpg')
                _image(root / 'data/streets/annotations' / split / f'{i:04d}.png', mode='L')


def test_the_guide_has_a_config_per_toolbox():
    assert sorted(SNIPPETS) == sorted(TOOLBOXES)


@pytest.mark.parametrize('name', list(TOOLBOXES))
def test_config_snippet_loads_builds_and_reads_its_data(name, tmp_path, monkeypatch):
    toolbox = TOOLBOXES[name]
    (tmp_path / 'configs').symlink_to(REPO / 'configs')
    path = tmp_path / name
    path.parent.mkdir()
    path.write_text(SNIPPETS[name])
    cfg = Config.fromfile(path)
    classes = cfg.classes
    counts = _class_counts(cfg.to_dict())
    assert counts and set(counts.values()) == {len(classes)}, counts
    # the backbone starts from the released weights (not fetched here: built without them)
    assert cfg.model.backbone.init_cfg.checkpoint == 'mmfish://resnest50'
    cfg.model.backbone.init_cfg = None
    with torch.device('meta'):  # shapes only: no memory, no weights
        build_in_scope(toolbox, cfg.model)
    _write_data(tmp_path, toolbox, classes)
    monkeypatch.chdir(tmp_path)
    import importlib
    importlib.import_module(f'{toolbox}.datasets')
    registry = importlib.import_module(f'{toolbox}.registry').DATASETS
    from mmengine.registry import DefaultScope
    for loader in ('train_dataloader', 'val_dataloader'):
        with DefaultScope.overwrite_default_scope(toolbox):
            dataset = registry.build(cfg[loader].dataset)
        assert len(dataset) == (2 * len(classes) if toolbox == 'mmpretrain' else 2), loader
        assert tuple(dataset.metainfo['classes']) == tuple(classes)
        item = dataset[0]  # the toolbox's pipeline reads the files
        assert item['inputs'].shape[0] == 3


def test_plain_pytorch_snippet_runs_and_prints_what_it_says(zoo):
    block = next(b for b in re.findall(r'```python\n(.*?)```', DOC.read_text(), re.S)
                 if 'create_model' in b)
    expected = re.search(r'^# (\[.*\])$', block, re.M).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(block, {})
    assert out.getvalue().strip() == expected
