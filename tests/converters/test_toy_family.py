"""A family is a model, a :class:`Family` and rows in the variants table: a toy backbone
registered here converts from a made-up official key layout with the real converter (Python
and command line), builds from the converted file strictly, and gets the strict loading's
likely cause for an un-converted file; nothing outside this module is changed for it."""
import pytest
import torch
from torch import nn

from mmfish.checkpoint import CheckpointMismatchError
from mmfish.converters import (
    FAMILIES,
    Family,
    convert_checkpoint,
    main,
    register_family,
    unregister_family,
)
from mmfish.core.keymap import count_blocks, fail_unplaced, rename
from mmfish.core.pretrained import pretrained_state
from mmfish.registry import MODELS
from mmfish.variants import VARIANTS, Variant

LAYOUTS = ('toy official (toy_stem, toy_blocks.<i>, toy_norm, classifier)',
           'OpenMMLab (backbone.*, head.fc.*)')


class ToyNet(nn.Module):
    """A stem conv, ``depth`` 3x3 convs and a BatchNorm; ``pool`` (a max-pool after the stem)
    has no weights, so a checkpoint cannot show it."""

    def __init__(self, depth: int = 2, width: int = 8, in_channels: int = 3, pool: bool = False):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()
        self.blocks = nn.Sequential(*[nn.Conv2d(width, width, 3, padding=1)
                                      for _ in range(depth)])
        self.bn = nn.BatchNorm2d(width)
        self.feature_info = [dict(num_chs=width, reduction=2 if pool else 1, module='bn')]

    def forward(self, x):
        return (self.bn(self.blocks(self.pool(self.stem(x)))), )


def to_mmfish_keys(state, source):
    if any(k.startswith('backbone.') for k in state):
        layout, rules = 'openmmlab', [(r'^backbone\.', 'backbone.'), (r'^head\.fc\.', 'head.fc.')]
    else:
        layout, rules = 'toy-official', [(r'^toy_stem\.', 'backbone.stem.'),
                                         (r'^toy_blocks\.', 'backbone.blocks.'),
                                         (r'^toy_norm\.', 'backbone.bn.'),
                                         (r'^classifier\.', 'head.fc.')]
    out, unplaced, dropped = rename(state, rules)
    fail_unplaced(unplaced, source, 'ToyNet', '; '.join(LAYOUTS))
    return out, layout, dropped


def detect(state, source, layout=None, dcn_type=None):
    stem = state['backbone.stem.weight']
    return dict(depth=count_blocks(state, 'backbone.blocks'), width=stem.shape[0],
                in_channels=stem.shape[1])


TOY = Family(name='ToyNet', model=ToyNet, layouts=LAYOUTS, markers=('toy_blocks.', ),
             to_mmfish_keys=to_mmfish_keys, detect=detect, hidden=('pool', ))


@pytest.fixture
def toy_family(monkeypatch):
    """ToyNet in mmfish's MODELS, its family registered and two released variants, for one
    test."""
    MODELS.register_module(module=ToyNet)
    register_family(TOY)
    for depth, pool in ((3, True), (4, False)):
        backbone = dict(type='ToyNet', depth=depth, **(dict(pool=True) if pool else {}))
        monkeypatch.setitem(VARIANTS, f'toynet-{depth}',
                            Variant(f'toynet-{depth}', f'toynet{depth}', backbone, 0.01, None))
    yield TOY
    unregister_family(TOY)
    MODELS.module_dict.pop('ToyNet')


def _official(depth=3, width=8, classes=5):
    torch.manual_seed(0)
    state = {'toy_stem.weight': torch.randn(width, 3, 3, 3), 'toy_stem.bias': torch.randn(width)}
    for i in range(depth):
        state[f'toy_blocks.{i}.weight'] = torch.randn(width, width, 3, 3)
        state[f'toy_blocks.{i}.bias'] = torch.randn(width)
    state.update({'toy_norm.weight': torch.rand(width) + 0.5, 'toy_norm.bias': torch.randn(width),
                  'toy_norm.running_mean': torch.randn(width),
                  'toy_norm.running_var': torch.rand(width) + 0.5,
                  'classifier.weight': torch.randn(classes, width),
                  'classifier.bias': torch.randn(classes)})
    return state


def test_a_registered_family_converts_and_builds_strictly(toy_family, tmp_path):
    src, dst = tmp_path / 'toy_official.pth', tmp_path / 'toy_mmfish.pth'
    official = _official()
    torch.save(official, src)
    lines = []
    meta = convert_checkpoint(None, str(src), str(dst), log=lines.append)['mmfish']
    assert 'family: ToyNet (detected from the keys)' in lines
    # the weights cannot show pool: the only released variant with these shapes decides it
    assert any(line.startswith('pool=True (not visible in the weights): the table of released '
                               'variants: toynet-3') for line in lines)
    assert meta['family'] == 'ToyNet' and meta['variant'] == 'toynet-3'
    assert meta['backbone'] == dict(type='ToyNet', depth=3, pool=True)
    assert meta['layout'] == 'toy-official' and meta['num_classes'] == 5

    # scoped, as configs name it: whatever default scope an earlier test left
    model = MODELS.build(dict(meta['backbone'], type='mmfish.ToyNet')).eval()
    model.load_state_dict(pretrained_state(model, str(dst), prefix='backbone.'), strict=True)
    reference = ToyNet(depth=3, pool=True).eval()
    reference.load_state_dict({**{k.replace('toy_norm', 'bn').replace('toy_', ''): v
                                  for k, v in official.items() if not k.startswith('classifier')},
                               'bn.num_batches_tracked': torch.tensor(0)})
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(model(x)[0], reference(x)[0], rtol=0, atol=0)
    head = torch.load(dst)['state_dict']
    assert torch.equal(head['head.fc.weight'], official['classifier.weight'])


def test_the_command_line_knows_a_registered_family(toy_family, tmp_path, capsys):
    src = tmp_path / 'toy.pth'
    torch.save(_official(depth=2), src)
    # no released variant has depth 2, and they differ in pool: the command line says it
    assert main(None, [str(src), str(tmp_path / 'a.pth')]) == 1
    assert 'say it with --pool, --no-pool' in capsys.readouterr().err
    assert main('toynet', [str(src), str(tmp_path / 'a.pth'), '--no-pool']) == 0
    meta = torch.load(tmp_path / 'a.pth')['meta']['mmfish']
    assert meta['backbone'] == dict(type='ToyNet', depth=2) and meta['variant'] is None


def test_the_strict_loading_names_the_registered_family(toy_family, tmp_path):
    src = tmp_path / 'toy_official.pth'
    torch.save(_official(), src)
    model = ToyNet(depth=3)
    with pytest.raises(CheckpointMismatchError) as info:
        pretrained_state(model, str(src))
    assert ('an un-converted checkpoint (toy-official key layout): convert it first with '
            'python -m mmfish.convert SRC DST (or python tools/model_converters/'
            'toynet2mmfish.py SRC DST)') in str(info.value)


def test_the_registration_is_gone_after_the_test():
    assert 'toynet' not in FAMILIES and 'ToyNet' not in MODELS.module_dict
    assert not [name for name in VARIANTS if name.startswith('toynet')]
