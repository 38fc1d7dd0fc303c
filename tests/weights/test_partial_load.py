"""A ``load_from`` that leaves tensors of the backbone at their initial values stops the run,
naming the tensors and the likely cause, unless the config sets ``load_from_partial = True``;
``--resume`` never accepts one; a head that differs (fine-tuning) loads as before. Each case
through MMEngine's Runner, with small models of mmfish's backbones."""
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from mmfish.checkpoint import CheckpointError
from mmfish.weights.load_report import PARTIAL_KEY, PartialLoadError
from mmfish.models import Res2Net, ResNeSt

from tests.weights.test_load_report import _runner, _save

RESNEST = dict(depth=14, base_channels=8, stem_channels=16, out_indices=(3, ))
RES2NET = dict(depth=50, base_channels=8, base_width=32, out_indices=(3, ))


class Classifier(BaseModel):
    """A backbone, global pooling and a linear head of ``classes`` outputs."""

    def __init__(self, backbone: torch.nn.Module, classes: int = 3):
        super().__init__()
        self.backbone = backbone
        self.fc = torch.nn.Linear(backbone.out_channels[-1], classes)

    def forward(self, inputs, labels, mode='loss'):
        logits = self.fc(self.backbone(inputs)[-1].mean((2, 3)))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return logits


def _state(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _other_radix():
    return _state(Classifier(ResNeSt(**RESNEST, radix=4)))


def _foreign_stages():
    """A Res2Net whose layer3 and layer4 come from a ResNeSt (another family's blocks)."""
    state = _state(Classifier(Res2Net(**RES2NET)))
    foreign = _state(Classifier(ResNeSt(depth=50, base_channels=8, stem_channels=16,
                                        out_indices=(3, ))))
    stages = ('backbone.layer3.', 'backbone.layer4.')
    state = {k: v for k, v in state.items() if not k.startswith(stages)}
    state.update({k: v for k, v in foreign.items() if k.startswith(stages)})
    return state


def _no_running_var():
    return {k: v for k, v in _state(Classifier(ResNeSt(**RESNEST))).items()
            if not k.endswith('running_var')}


def _one_shape():
    state = _state(Classifier(ResNeSt(**RESNEST)))
    state['backbone.stem.0.weight'] = torch.zeros(3, 3, 3, 3)
    return state


#: name: (the model, the file's state, how many backbone tensors are not loaded, the cause)
CASES = {
    'radix-4-into-radix-2': (
        lambda: Classifier(ResNeSt(**RESNEST)), _other_radix, 34,
        r"the file's backbone is a different architecture in backbone\.layer1, .*: 34 tensors "
        r'have another shape \(backbone\.layer1\.0\.conv2\.conv\.weight is \(32, 2, 3, 3\) in '
        r'the file, \(16, 4, 3, 3\) in the model; .*; \.\.\. 31 more\); the checkpoint is a '
        r'ResNeSt with radix=4, the model has radix=2'),
    'res2net-with-foreign-layer3-4': (
        lambda: Classifier(Res2Net(**RES2NET)), _foreign_stages, None,
        r"the file's backbone is a different architecture in backbone\.layer3, "
        r'backbone\.layer4 \(the rest of the backbone loaded\): \d+ tensors have another shape '
        r'\(backbone\.layer3\.0\.conv1\.weight is \(32, 64, 1, 1\) in the file, \(64, 64, 1, '
        r'1\) in the model; .*\) and the file holds \d+ backbone tensors the model lacks '
        r'\(backbone\.layer3\..*\); this is a ResNeSt checkpoint \(keys such as '
        r'layer3\.0\.conv2\.conv\.weight'),
    'no-running-var': (
        lambda: Classifier(ResNeSt(**RESNEST)), _no_running_var, None,
        r'the file holds no running_var tensors of the backbone: it was saved without them'),
    'one-wrong-shape': (
        lambda: Classifier(ResNeSt(**RESNEST)), _one_shape, 1,
        r'backbone\.stem\.0\.weight is \(3, 3, 3, 3\) in the file and \(8, 3, 3, 3\) in the '
        r'model'),
}


def _not_loaded(model, state):
    """The backbone's weights that ``state`` does not fill (BatchNorm counters aside)."""
    expected = model.state_dict()
    return [k for k in expected if k.startswith('backbone.') and
            not k.endswith('num_batches_tracked') and
            (k not in state or state[k].shape != expected[k].shape)]


@pytest.mark.parametrize('case', sorted(CASES))
def test_a_partial_backbone_load_stops_the_run_unless_allowed(case, tmp_path):
    build, make_state, count, cause = CASES[case]
    state = make_state()
    path = _save(tmp_path / f'{case}.pth', state)
    not_loaded = _not_loaded(build(), state)
    assert count is None or len(not_loaded) == count
    total = sum(1 for k in build().state_dict() if k.startswith('backbone.'))

    runner, records = _runner(tmp_path / 'default', path, model=build())
    with pytest.raises(PartialLoadError) as refused:
        runner.load_or_resume()
    message = str(refused.value)
    assert message.startswith(
        f'load_from {path}: {len(not_loaded)} of the {total} backbone tensors were not loaded '
        f'and would train from their initial (random) values: {", ".join(not_loaded[:5])}'
        + (f', ... ({len(not_loaded) - 5} more). ' if len(not_loaded) > 5 else '. '))
    assert re.search(r'Likely cause: ' + cause, message), message
    assert message.endswith(f'If the partial load is deliberate, set {PARTIAL_KEY} = True in '
                            f'the config (or pass --cfg-options {PARTIAL_KEY}=True): the run '
                            f'then goes on, with these tensors at their initial values named '
                            f'in a warning')
    assert isinstance(refused.value, CheckpointError)
    assert [level for level, _ in records.about(path)] == ['WARNING']  # the summary line

    runner, records = _runner(tmp_path / 'allowed', path, model=build(),
                              cfg={PARTIAL_KEY: True})
    runner.load_or_resume()  # goes on
    (level, line), = records.about(path)
    assert level == 'WARNING' and line.startswith(
        f'load_from {path}: {total - len(not_loaded) - _counters(not_loaded, state, build())} '
        f'of {total} backbone tensors loaded; ')
    loaded = runner.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items()
               if k in loaded and loaded[k].shape == v.shape)

    runner, _ = _runner(tmp_path / 'resumed', path, resume=True, model=build(),
                        cfg={PARTIAL_KEY: True})
    with pytest.raises(PartialLoadError, match=rf'^resume {re.escape(str(path))}: '
                                               rf'{len(not_loaded)} of the {total} backbone '
                                               rf'tensors were not loaded.*--resume never '
                                               rf'accepts a partial load \({PARTIAL_KEY} applies '
                                               rf'to load_from only\)'):
        runner.load_or_resume()
    assert runner.iter == 0


def _counters(not_loaded, state, model):
    """The BatchNorm counters of the backbone that ``state`` does not fill either (the summary
    line counts them among the tensors not loaded)."""
    expected = model.state_dict()
    return sum(1 for k in expected if k.startswith('backbone.') and
               k.endswith('num_batches_tracked') and
               (k not in state or state[k].shape != expected[k].shape))


def test_a_different_head_loads_as_fine_tuning_does(tmp_path):
    """Another number of classes: the head keeps its initial values, the whole backbone
    loads, and the run goes on with the summary at info level."""
    source = Classifier(ResNeSt(**RESNEST), classes=3)
    path = _save(tmp_path / 'three_classes.pth', _state(source))
    runner, records = _runner(tmp_path / 'run', path,
                              model=Classifier(ResNeSt(**RESNEST), classes=5))
    initial_head = runner.model.fc.weight.detach().clone()
    runner.load_or_resume()
    total = sum(1 for k in source.state_dict() if k.startswith('backbone.'))
    assert records.about(path) == [('INFO', f'load_from {path}: all {total} backbone tensors '
                                            f'loaded; 0 unexpected')]
    loaded = runner.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in source.state_dict().items()
               if k.startswith('backbone.'))
    assert torch.equal(runner.model.fc.weight, initial_head)


def test_the_opt_in_must_be_a_bool(tmp_path):
    path = _save(tmp_path / 'full.pth', _state(Classifier(ResNeSt(**RESNEST))))
    runner, _ = _runner(tmp_path / 'run', path, model=Classifier(ResNeSt(**RESNEST)),
                        cfg={PARTIAL_KEY: 'yes'})
    with pytest.raises(CheckpointError, match=rf"^{PARTIAL_KEY}='yes' in the config: give "
                                              rf'True \(let load_from leave tensors'):
        runner.load_or_resume()


class Linear(BaseModel):
    """A model without a backbone: all its keys are checked."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(3 * 32 * 32, 3)

    def forward(self, inputs, labels, mode='loss'):
        logits = self.layer(inputs.flatten(1))
        return dict(loss=F.cross_entropy(logits, labels)) if mode == 'loss' else logits


def test_a_model_without_backbone_is_checked_whole(tmp_path):
    path = _save(tmp_path / 'weight_only.pth', {'layer.weight': torch.zeros(3, 3 * 32 * 32)})
    runner, _ = _runner(tmp_path / 'run', path, model=Linear())
    with pytest.raises(PartialLoadError, match=rf'^load_from {re.escape(str(path))}: 1 of the '
                                               rf'2 model tensors were not loaded and would '
                                               rf'train from their initial \(random\) values: '
                                               rf'layer\.bias\. Likely cause: the file holds only '
                                               rf'part of the model'):
        runner.load_or_resume()
