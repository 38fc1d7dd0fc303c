"""Adding a family is its own module: the toy family of :mod:`tests.families.toy`, registered
here and nowhere else, builds in the four toolboxes' scopes, converts from its made-up official
key layout with the real converter (Python and command line), builds from the converted file
strictly, gets the strict loading's likely cause for an un-converted file, and is found by the
generic tables (the memory-format policy, ``from_toolbox``, the model index, the benchmark's
subjects) and by the parametrised tests."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmfish.checkpoint import CheckpointMismatchError
from mmfish.weights import FAMILIES, convert_checkpoint, main
from mmfish.core.layers import memory_format
from mmfish.core.pretrained import pretrained_state
from mmfish.models.toolbox import from_toolbox
from mmfish.registry import MODELS
from mmfish.variants import VARIANTS
from mmfish_tools import build_in_scope

from tests.families import toy
from tests.families.toy import ToyNet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def toy_family():
    """The toy family registered for one test."""
    yield toy.register()
    toy.unregister()


def _official(depth=3, width=8, classes=5):
    """A checkpoint of the toy's official layout."""
    torch.manual_seed(0)
    state = {'toy_stem.conv.weight': torch.randn(width, 3, 3, 3)}
    layers = ['toy_stem'] + [f'toy_stages.{i}.{j}' for i in range(4) for j in range(depth)]
    for layer in layers:
        if layer != 'toy_stem':
            state[f'{layer}.conv.weight'] = torch.randn(width, width, 3, 3) * 0.2
        state.update({f'{layer}.bn.weight': torch.rand(width) + 0.5,
                      f'{layer}.bn.bias': torch.randn(width),
                      f'{layer}.bn.running_mean': torch.randn(width) * 0.1,
                      f'{layer}.bn.running_var': torch.rand(width) + 0.5})
    state.update({'classifier.weight': torch.randn(classes, width),
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
    renamed = {k.replace('toy_stem.conv', 'stem.0').replace('toy_stem.bn', 'stem.1')
               .replace('.conv.', '.0.').replace('.bn.', '.1.').replace('toy_stages', 'stages'): v
               for k, v in official.items() if not k.startswith('classifier')}
    reference.load_state_dict({**renamed, **{k: v for k, v in reference.state_dict().items()
                                             if k.endswith('num_batches_tracked')}})
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        for ours, theirs in zip(model(x), reference(x)):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
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


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain', 'mmpose'])
def test_a_registered_family_builds_in_the_toolboxes_scopes(toy_family, scope):
    model = build_in_scope(scope, dict(type='mmfish.ToyNet', depth=1, out_indices=(0, 3)))
    assert type(model) is ToyNet and model.out_channels == (8, 8)


def test_the_generic_tables_find_a_registered_family(toy_family, monkeypatch):
    from mmfish_tools.benchmark import SUBJECTS
    from mmfish_tools.model_index import family_collections, metafiles

    # the memory-format policy: NCHW where the family says it was measured faster
    monkeypatch.setattr(memory_format, 'cpu_isa', lambda: 'AVX2')
    assert 'ToyNet' in memory_format.NCHW_FASTER[('cpu', 'AVX2', True)]
    assert memory_format.preferred_memory_format(ToyNet, None, True) == torch.contiguous_format
    assert memory_format.preferred_memory_format(ToyNet, None, False) == torch.channels_last
    # the toolbox translation: a toolbox config of the family builds mmfish's
    cfg = from_toolbox(dict(type='ToyNet', depth=2), 'mmdet')
    assert cfg == dict(type='mmfish.ToyNet', depth=2, out_indices=(0, 1, 2, 3), norm_eval=True,
                       contract_dilation=False)
    assert type(MODELS.build(cfg)) is ToyNet
    # the model index: the family's collection and its variants' metafile
    assert family_collections()['toynet']['Name'] == 'ToyNet'
    metafile = metafiles()['configs/mmpretrain/toynet/metafile.yml']
    assert 'Name: toynet-3_8xb32_in1k' in metafile and 'Title: A toy family' in metafile
    # the benchmark: the family's benchmarked model, built by mmfish
    assert SUBJECTS['toynet-3'].family == 'toynet'
    assert type(SUBJECTS['toynet-3'].mmfish.build()) is ToyNet


def test_the_parametrised_tests_pick_up_a_registered_family():
    """The backbone template's tests, run with the toy family registered before collection,
    run for ToyNet too."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    out = subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'tests.families.toy', '-p', 'no:randomly',
         '-p', 'no:cacheprovider', '-q', '-k', 'ToyNet',
         'tests/core/test_template.py'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert '2 passed' in out.stdout, out.stdout[-3000:]


def test_the_registration_is_gone_after_the_test():
    assert 'toynet' not in FAMILIES and 'ToyNet' not in MODELS.module_dict
    assert not [name for name in VARIANTS if name.startswith('toynet')]
    assert 'ToyNet' not in memory_format.NCHW_FASTER.get(('cpu', 'AVX2', True), ())
    from mmfish_tools.benchmark import SUBJECTS
    assert 'toynet-3' not in SUBJECTS
