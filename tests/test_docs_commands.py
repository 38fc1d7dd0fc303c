"""The commands, snippets and facts of the README and the docs hold.

The converter commands write the files the configs would load: every
``python -m mmfish.convert SRC DST`` names a DST under ``checkpoints/`` that is a published
variant's, and the configs name released weights as ``mmfish://<variant>``. The Python
snippets that run on a CPU in seconds run, and the messages and figures the docs quote are the
code's and the data's."""
import ast
import contextlib
import io
import json
import re
import statistics

import pytest
import torch

from mmfish.variants import VARIANTS

from tests.conftest import REPO

COMMAND = re.compile(r'python -m mmfish\.convert ([^\s`|]+) ([^\s`|]+)')
DOCS = ['README.md', 'docs/converters.md', 'docs/downstream.md', 'docs/models.md']


def _commands():
    found = []
    for doc in DOCS:
        for src, dst in COMMAND.findall((REPO / doc).read_text()):
            if dst != 'DST':  # the generic usage line
                found.append((doc, src, dst))
    return found


def _config_checkpoints(pattern=r"checkpoints/[\w.-]+_mmfish\.pth"):
    names = set()
    for path in (REPO / 'configs').rglob('*.py'):
        names.update(re.findall(pattern, path.read_text()))
    return names


def test_documented_commands_write_what_the_configs_load():
    commands = _commands()
    assert len(commands) >= len(VARIANTS)  # the released-files table has one per variant
    written = {dst for _, _, dst in commands}
    expected = {f'checkpoints/{name}_mmfish.pth' for name in VARIANTS}
    for doc, src, dst in commands:
        assert dst in expected, f'{doc}: {src} -> {dst}, not a variant\'s checkpoint name'
    loaded = _config_checkpoints()
    assert loaded <= written | expected
    missing = sorted(loaded - written)
    assert not missing, f'configs load {missing}, which no documented command writes'


def test_the_configs_name_released_weights():
    """The shipped configs name their ImageNet weights ``mmfish://<variant>``: each a variant
    with released files, which :mod:`mmfish.hub` fetches and converts; the trained configs
    name the toolboxes' trained models ``mmfish://<toolbox>/<model>``, every one of them."""
    from mmfish.hub import released_variants
    from mmfish.variants import TRAINED
    names = {n[len('mmfish://'):] for n in _config_checkpoints(r"mmfish://[\w.+/-]+")}
    imagenet = names - set(TRAINED)
    assert len(imagenet) >= 8 and imagenet <= set(released_variants())
    assert set(TRAINED) <= names


def test_released_files_table_is_current():
    """docs/converters.md's table of released files is the one ``tools/model_table.py
    --files-only`` writes from mmfish/variants.py."""
    from mmfish_tools.model_table import FILES_BEGIN, FILES_END, format_files
    text = (REPO / 'docs' / 'converters.md').read_text()
    current = text.split(FILES_BEGIN)[1].split(FILES_END)[0].strip()
    assert current == format_files(), 'run python tools/model_table.py --files-only'


def _text(doc: str) -> str:
    return (REPO / doc).read_text()


def _python_blocks(doc: str) -> list:
    return re.findall(r'```python\n(.*?)```', _text(doc), re.S)


# -- docs/models.md: building the backbones ---------------------------------------------------
def test_models_doc_backbone_dicts_build():
    """Every ``backbone=dict(type='mmfish....')`` of "Using the backbones" builds (on the meta
    device: shapes only, no weights)."""
    from mmfish.registry import MODELS
    block = next(b for b in _python_blocks('docs/models.md') if b.startswith('backbone=dict('))
    cfgs = [eval(compile(ast.Expression(node.value), 'models.md', 'eval'), {'dict': dict})
            for node in ast.parse(block).body]
    assert {c['type'] for c in cfgs} >= {'mmfish.Res2Net', 'mmfish.ResNeSt', 'mmfish.FishNet',
                                          'mmfish.FishNeXt', 'mmfish.Res2NetDLA'}
    with torch.device('meta'):
        for cfg in cfgs:
            MODELS.build(cfg)


def test_models_doc_depths_and_missing_depth():
    from mmfish.models import FishNet, FishNeXt, Res2Net, Res2NetDLA, ResNeSt
    text = ' '.join(_text('docs/models.md').split())
    sentence = text[text.index('`depth` has no default'):].split('. ')[0]
    for cls in (Res2Net, ResNeSt, FishNet, FishNeXt, Res2NetDLA):
        assert ', '.join(map(str, cls.arch_settings)) in sentence, cls.__name__
    documented = re.search(r"`Res2NetDLA\(\)` raises `([^`]+)`", text).group(1)
    with pytest.raises(TypeError) as info:
        Res2NetDLA()
    assert str(info.value) == documented


def test_models_doc_res2net_dla_example_runs():
    block = next(b for b in _python_blocks('docs/models.md') if 'Res2NetDLA(depth=60)' in b)
    expected = re.search(r'^# (\[.*\])$', block, re.M).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), torch.no_grad():
        exec(block, {})
    assert out.getvalue().strip() == expected


def test_models_doc_example_error_is_the_real_message():
    """"e.g. `Res2Net(depth=34)` raises `depth=34 ...`": the backbone's own message."""
    import mmfish.models as models
    text = ' '.join(_text('docs/models.md').split())
    call, message = re.search(r'e\.g\. `(\w+\(depth=\d+\))` raises `([^`]+)`', text).groups()
    with pytest.raises(ValueError) as info:
        eval(call, vars(models))
    assert str(info.value) == message  # the whole message: a shortened list of depths fails


# -- docs/models.md: one image per GPU -----------------------------------------------------
def _attention_gn_suggestion(doc: str = 'docs/models.md') -> str:
    found = set(re.findall(r"attention_norm_cfg=dict\(type='GN', num_groups=\d+\)", _text(doc)))
    assert len(found) == 1, found
    return found.pop()


def test_attention_group_norm_suggestion_trains_on_one_image():
    from mmfish.models import ResNeSt
    suggestion = _attention_gn_suggestion()
    cfg = eval(suggestion.partition('=')[2], {'dict': dict})
    model = ResNeSt(depth=50, attention_norm_cfg=cfg).train()
    assert isinstance(model.layer1[0].conv2.gn1, torch.nn.GroupNorm)
    outs = model(torch.rand(1, 3, 64, 64))  # one image: each attention norm sees 1x1 features
    assert [tuple(o.shape) for o in outs] == [(1, 256, 16, 16), (1, 512, 8, 8),
                                              (1, 1024, 4, 4), (1, 2048, 2, 2)]
    # every depth has the attention widths the doc names, which the suggestion splits into
    # groups of two or more channels (built on the meta device: no weights)
    for depth in ResNeSt.arch_settings:
        with torch.device('meta'):
            model = ResNeSt(depth=depth, attention_norm_cfg=cfg)
        widths = sorted({m.inter_channels for m in model.modules()
                         if hasattr(m, 'inter_channels')})
        assert widths == [32, 64, 128, 256], (depth, widths)
        assert ', '.join(map(str, widths[:-1])) + f' and {widths[-1]} channels' in ' '.join(
            _text('docs/models.md').split())
        assert all(w % cfg['num_groups'] == 0 and w // cfg['num_groups'] >= 2 for w in widths)


def test_attention_group_norm_one_value_per_group_is_explained():
    """32 groups on the 32 channels of layer1's attention: mmfish's message, not PyTorch's,
    and it suggests what the docs suggest."""
    from mmfish.models import ResNeSt
    suggestion = _attention_gn_suggestion()
    with torch.device('meta'):
        model = ResNeSt(depth=50, attention_norm_cfg=dict(type='GN', num_groups=32)).train()
        with pytest.raises(ValueError) as info:
            model(torch.empty(1, 3, 64, 64))
    message = str(info.value)
    assert message.startswith('ResNeSt: the norm layer layer1.0.conv2.gn1 (GroupNorm) cannot '
                              'normalise: ')
    for part in ('puts each of its 32 channels in a group of its own (num_groups=32)',
                 'Remedies: fewer groups', suggestion, 'Expected more than 1 value per channel'):
        assert part in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with torch.device('meta'):  # BatchNorm there: the same suggestion among the remedies
        with pytest.raises(ValueError, match='BatchNorm2d') as info:
            ResNeSt(depth=50).train()(torch.empty(1, 3, 64, 64))
    assert suggestion in str(info.value)
    assert f"``{suggestion.partition('=')[2]}``" in _text('mmfish/families/resnest/model.py')


def test_group_norm_one_value_per_group_elsewhere_is_explained():
    """"Any other norm that sees one value per channel (or, for a GroupNorm, per group) gets
    the same kind of message": a GroupNorm of one channel per group on a 1x1 map."""
    from mmfish.models import Res2Net
    with torch.device('meta'):
        model = Res2Net(depth=50, base_channels=16, stem_channels=16, base_width=32,
                        norm_cfg=dict(type='GN', num_groups=8)).train()
        norm = model.get_submodule('layer1.0.bns.0')
        assert (norm.num_groups, norm.num_channels) == (8, 8)
        with pytest.raises(ValueError) as info:
            norm(torch.empty(1, 8, 1, 1))
    message = str(model.explain_norm_error(info.value))
    assert message.startswith('Res2Net: the norm layer layer1.0.bns.0 (GroupNorm) cannot '
                              'normalise: each of its 8 groups holds one value')
    assert "fewer groups, so that each holds two or more channels (norm_cfg=dict(type='GN', " \
           "num_groups=4)" in message


def test_models_doc_mmdet_arguments_are_taken():
    """ResNeSt, Res2Net and FishNet take mmdet's ResNet arguments; Res2NetDLA refuses them."""
    from mmfish.core.contract import MMDET_CONTRACT_BACKBONES, UNSUPPORTED_MMDET_ARGS
    text = ' '.join(_text('docs/models.md').split())
    assert 'does not take yet' not in text
    assert set(MMDET_CONTRACT_BACKBONES) == {'ResNeSt', 'Res2Net', 'FishNet'}
    for name in UNSUPPORTED_MMDET_ARGS:
        assert f'`{name}`' in text


# -- README and docs: facts about the code and the data --------------------------------------
def test_readme_registry_and_inventory_facts():
    from mmengine.registry import HOOKS, MODELS

    import mmfish.registry as registry
    from mmfish_tools.inventory import TOOLBOXES
    assert registry.MODELS.parent is MODELS and registry.HOOKS.parent is HOOKS
    readme = ' '.join(_text('README.md').split())
    assert "MODELS, HOOKS: children of MMEngine's, with the scope 'mmfish'" in readme
    assert set(TOOLBOXES) == {'mmdet', 'mmseg', 'mmpretrain'}
    assert 'inside the mmdet, mmseg and mmpretrain registries (not mmpose\'s)' in readme


def test_downstream_weights_table_names_every_checkpoint_a_config_loads():
    text = _text('docs/downstream.md')
    table = text[text.index('| config backbone | weights it names |'):].split('\n\n')[0]
    from mmfish.variants import TRAINED
    named = set(re.findall(r'`(mmfish://[\w.-]+)`', table))
    loaded = _config_checkpoints(r"mmfish://[\w.+/-]+") - {f'mmfish://{n}' for n in TRAINED}
    assert loaded <= named, sorted(loaded - named)


def test_weights_table_is_current():
    """docs/weights.md's table of ``mmfish://`` names is the one ``tools/model_table.py
    --files-only`` writes from mmfish/variants.py."""
    from mmfish_tools.model_table import WEIGHTS_BEGIN, WEIGHTS_END, format_weights
    text = _text('docs/weights.md')
    current = text.split(WEIGHTS_BEGIN)[1].split(WEIGHTS_END)[0].strip()
    assert current == format_weights(), 'run python tools/model_table.py --files-only'


def test_trained_models_table_is_current():
    """docs/models.md's table of the toolboxes' trained models is the one
    ``tools/model_table.py --files-only`` writes from mmfish/variants.py, and lists them all."""
    from mmfish.variants import TRAINED
    from mmfish_tools.model_table import TRAINED_BEGIN, TRAINED_END, format_trained
    text = _text('docs/models.md')
    current = text.split(TRAINED_BEGIN)[1].split(TRAINED_END)[0].strip()
    assert current == format_trained(), 'run python tools/model_table.py --files-only'
    assert all(f'`mmfish://{name}`' in current for name in TRAINED)


def test_downstream_lists_every_piece_inheriting_tiny_runtime():
    inheriting = {p.name for p in (REPO / 'configs').rglob('*.py')
                  if re.search(r"_base_ = .*tiny_runtime\.py", p.read_text())}
    row = next(line for line in _text('docs/downstream.md').splitlines()
               if line.startswith('| [`configs/tiny/_base_/tiny_runtime.py`]'))
    listed = set(re.findall(r'`(tiny_\w+\.py)`', row.split('|')[3]))
    assert inheriting and listed == inheriting


def test_benchmark_figures_are_the_data():
    from mmfish_tools.benchmark.cli import parser
    text = ' '.join(_text('docs/benchmarks.md').split())
    default = parser().get_default('repeats')
    assert f'--repeats {default} ' not in text.split('## Results')[0].split('```')[1]
    assert f'(default {default})' in text

    def median_ms(name, impl='mmfish', model='resnest50'):
        rows = json.loads((REPO / 'docs' / 'benchmarks' / name).read_text())['rows']
        row = next(r for r in rows if r['subject'] == model and r['impl'] == impl)
        return round(1000 * statistics.median(row['train_s']))

    fast, avx2 = median_ms('cpu_fp32_b8_224.json'), median_ms('cpu-avx2_fp32_b8_224.json')
    assert f'ResNeSt-50: {fast} against {avx2} ms' in text


def test_pyproject_serves_the_four_toolboxes():
    tomllib = pytest.importorskip('tomllib')  # Python >= 3.11
    from packaging.requirements import Requirement
    project = tomllib.loads(_text('pyproject.toml'))['project']
    for name in ('mmpretrain', 'mmdet', 'mmsegmentation', 'mmpose'):
        assert name in project['description']
    pins = dict(line.split('==') for line in _text('requirements/constraints.txt').splitlines()
                if '==' in line and not line.startswith('#'))
    extras = project['optional-dependencies']
    for extra, package in (('cls', 'mmpretrain'), ('det', 'mmdet'), ('seg', 'mmsegmentation'),
                           ('pose', 'mmpose')):
        requirement = Requirement(extras[extra][0])
        assert requirement.name == package and pins[package] in requirement.specifier, extra
    assert project['license'] == 'Apache-2.0'
    assert 'Apache License' in _text('LICENSE') and 'Version 2.0, January 2004' in _text('LICENSE')
