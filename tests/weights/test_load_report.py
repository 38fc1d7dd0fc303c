"""``load_from`` and ``--resume`` through MMEngine's Runner (non-strict loading): with mmfish
imported, the loading ends with a one-line summary of what was loaded into the backbone, and a
file that holds no weights of the model is refused, naming the file. (A file that fills the
backbone in part stops the run unless the config allows it: tests/weights/test_partial_load.py;
the tests here that show such loads allow them.)"""
import inspect
import logging
import re

import pytest
import torch
from mmengine.runner import Runner

from mmfish.checkpoint import CheckpointError
from mmfish.weights import NoModelWeightsError
from mmfish.weights.load_report import PARTIAL_KEY, PartialLoadError, compare, install

from tests.checkpoint.test_compat import RandomImages, TinyClassifier

DROPPED = ['backbone.stem.0.weight', 'backbone.layer1.0.conv1.weight']


class Records(logging.Handler):
    """The messages logged, with their levels."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append((record.levelname, record.getMessage()))

    def about(self, path):
        """The lines of the summary (``<what> <path>: ...``) about ``path``."""
        return [(level, line) for level, line in self.lines if f' {path}: ' in line]


def _runner(work_dir, load_from, resume=False, model=None, cfg=None):
    """A Runner of ``model`` (a TinyClassifier by default) that loads ``load_from``; ``cfg``
    holds the config's other keys (``load_from_partial``)."""
    runner = Runner(
        model=model or TinyClassifier(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=RandomImages(), batch_size=4, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=1),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)),
        load_from=None if load_from is None else str(load_from), resume=resume,
        default_scope='mmengine', experiment_name=f'{work_dir.parent.name}_{work_dir.name}',
        cfg=cfg)
    records = Records()
    runner.logger.addHandler(records)
    return runner, records


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _save(path, state, **rest):
    torch.save({'meta': {}, 'state_dict': state, **rest}, path)
    return path


def _backbone_keys():
    return [k for k in TinyClassifier().state_dict() if k.startswith('backbone.')]


@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_a_complete_checkpoint_is_summarised(tmp_path, prefix):
    source = TinyClassifier()
    path = _save(tmp_path / 'full.pth', {prefix + k: v for k, v in source.state_dict().items()})
    runner, records = _runner(tmp_path / 'run', path)
    runner.load_or_resume()
    total = len(_backbone_keys())
    assert records.about(path) == [('INFO', f'load_from {path}: all {total} backbone tensors '
                                            f'loaded; 0 unexpected')]
    loaded = runner.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in source.state_dict().items())


#: the config key that lets load_from go on after a partial load (tests/weights/test_partial_load.py
#: shows the default, which stops the run)
PARTIAL = {PARTIAL_KEY: True}


def test_missing_backbone_tensors_are_named(tmp_path):
    source = TinyClassifier()
    state = {k: v for k, v in source.state_dict().items() if k not in DROPPED}
    state['head.extra.weight'] = torch.zeros(2)
    path = _save(tmp_path / 'partial.pth', state)
    runner, records = _runner(tmp_path / 'run', path, cfg=PARTIAL)
    initial = _weights(runner.model)
    runner.load_or_resume()
    total = len(_backbone_keys())
    assert records.about(path) == [(
        'WARNING', f'load_from {path}: {total - 2} of {total} backbone tensors loaded; 2 keep '
                   f'their initial values: {", ".join(DROPPED)}; 1 unexpected '
                   f'(head.extra.weight)')]
    loaded = runner.model.state_dict()
    assert all(torch.equal(loaded[k], initial[k]) for k in DROPPED)
    assert all(torch.equal(loaded[k], v) for k, v in state.items() if k in loaded)


def test_tensors_of_another_shape_keep_their_initial_values(tmp_path):
    state = TinyClassifier().state_dict()
    state['backbone.stem.0.weight'] = torch.zeros(3, 3, 3, 3)
    path = _save(tmp_path / 'other_width.pth', state)
    runner, records = _runner(tmp_path / 'run', path, cfg=PARTIAL)
    runner.load_or_resume()
    total = len(_backbone_keys())
    (level, line), = records.about(path)
    assert level == 'WARNING' and line == (
        f'load_from {path}: {total - 1} of {total} backbone tensors loaded; 1 keep their '
        f'initial values (1 with another shape in the file): backbone.stem.0.weight; '
        f'0 unexpected')


@pytest.mark.parametrize('state, message', [
    ({'encoder.weight': torch.zeros(2), 'decoder.bias': torch.zeros(2)},
     r'none of its 2 tensors \(encoder\.weight, decoder\.bias\) is a weight of the model '
     r'\(backbone\.stem\.0\.weight, .*\): it is a checkpoint of another model'),
    ({}, r'it holds no tensors'),
    ({'backbone.stem.0.weight': torch.zeros(3, 3, 3, 3)},
     r'the 1 weights it shares with the model by name all have another shape there '
     r'\(e\.g\. backbone\.stem\.0\.weight\)'),
], ids=['unrelated', 'empty', 'other-shapes'])
def test_a_file_without_weights_of_the_model_is_refused(tmp_path, state, message):
    path = _save(tmp_path / 'unrelated.pth', state)
    runner, _ = _runner(tmp_path / 'run', path)
    initial = _weights(runner.model)
    with pytest.raises(NoModelWeightsError, match=rf'^load_from {re.escape(str(path))} holds no '
                                                  rf'weights of this model, so nothing was '
                                                  rf'loaded: {message}'):
        runner.load_or_resume()
    assert issubclass(NoModelWeightsError, CheckpointError)
    assert all(torch.equal(v, initial[k]) for k, v in runner.model.state_dict().items())


def test_a_backbone_only_file_is_named_as_such(tmp_path):
    backbone = TinyClassifier().backbone.state_dict()
    path = _save(tmp_path / 'backbone.pth', backbone)
    runner, _ = _runner(tmp_path / 'run', path)
    with pytest.raises(NoModelWeightsError, match=r"it is a backbone-only checkpoint: load it "
                                                  r"with the backbone's init_cfg=dict\("
                                                  r"type='Pretrained'"):
        runner.load_or_resume()


def test_resume_is_summarised_and_refused_alike(tmp_path):
    first, _ = _runner(tmp_path / 'first', None)
    first.train()
    checkpoint = torch.load(tmp_path / 'first' / 'iter_1.pth')
    state = checkpoint['state_dict']
    checkpoint['state_dict'] = {k: v for k, v in state.items() if k not in DROPPED}
    partial = tmp_path / 'partial.pth'
    torch.save(checkpoint, partial)
    runner, records = _runner(tmp_path / 'resumed', partial, resume=True, cfg=PARTIAL)
    with pytest.raises(PartialLoadError, match=rf'^resume {re.escape(str(partial))}: 2 of the '
                                               rf'\d+ backbone tensors were not loaded'):
        runner.load_or_resume()  # never a partial resume, even with load_from_partial
    total = len(_backbone_keys())
    assert records.about(partial) == [(
        'WARNING', f'resume {partial}: {total - 2} of {total} backbone tensors loaded; 2 keep '
                   f'their initial values: {", ".join(DROPPED)}; 0 unexpected')]
    assert runner.iter == 0  # the rest of the resume did not run

    checkpoint['state_dict'] = state
    torch.save(checkpoint, partial)
    runner, records = _runner(tmp_path / 'complete', partial, resume=True)
    runner.load_or_resume()
    assert records.about(partial) == [('INFO', f'resume {partial}: all {total} backbone tensors '
                                               f'loaded; 0 unexpected')]
    assert runner.iter == 1  # the rest of the resume went on

    checkpoint['state_dict'] = {'encoder.weight': torch.zeros(2)}
    unrelated = tmp_path / 'unrelated.pth'
    torch.save(checkpoint, unrelated)
    runner, _ = _runner(tmp_path / 'refused', unrelated, resume=True)
    with pytest.raises(NoModelWeightsError, match=rf'^resume {re.escape(str(unrelated))} holds '
                                                  rf'no weights of this model'):
        runner.load_or_resume()
    assert runner.iter == 0


def test_installed_once_with_the_same_signatures():
    methods = Runner.load_checkpoint, Runner.resume
    install()
    assert (Runner.load_checkpoint, Runner.resume) == methods
    for method in methods:
        assert inspect.signature(method) == inspect.signature(method.__wrapped__)
        assert not hasattr(method.__wrapped__, '__wrapped__')


def test_a_model_without_backbone_is_reported_on_all_its_keys():
    model = torch.nn.Linear(2, 3)
    report = compare(model, {'weight': torch.zeros(3, 2)})
    assert report.scope == 'model' and report.total == ['weight', 'bias']
    assert report.kept == ['bias'] and report.incomplete
    assert report.summary('load_from', 'x.pth') == (
        'load_from x.pth: 1 of 2 model tensors loaded; 1 keep their initial values: bias; '
        '0 unexpected')
