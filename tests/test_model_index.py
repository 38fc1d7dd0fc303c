"""OpenMMLab's model index: ``model-index.yml`` and the metafiles are generated from
mmfish/variants.py, and ``mim search mmfish`` lists the published models with their scores and
weights from an installed wheel, which holds the library, its configs and its index only."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mmfish.variants import TRAINED, VARIANTS
from mmfish_tools.model_index import metafiles

from tests.conftest import REPO


def test_the_model_index_is_current():
    for path, text in metafiles().items():
        assert (REPO / path).read_text() == text, f'run python tools/model_index.py ({path})'


@pytest.fixture(scope='module')
def installed_wheel(tmp_path_factory):
    """The wheel ``pip wheel .`` builds from the checkout, and where it is installed."""
    root = tmp_path_factory.mktemp('wheel')
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q']
    subprocess.run(pip + ['wheel', '--no-deps', '--no-build-isolation', '-w', str(root),
                          str(REPO)], check=True)
    wheel = next(root.glob('mmfish-*.whl'))
    subprocess.run(pip + ['install', '--no-deps', '--target', str(root / 'site'), str(wheel)],
                   check=True)
    return wheel, root / 'site'


def test_the_wheel_holds_the_library_its_configs_and_its_index(installed_wheel):
    wheel, _ = installed_wheel
    names = zipfile.ZipFile(wheel).namelist()
    modules = {n for n in names if n.endswith('.py') and not n.startswith('mmfish/.mim/')}
    assert modules == {str(p.relative_to(REPO)) for p in (REPO / 'mmfish').rglob('*.py')}
    assert not [n for n in names if n.startswith('mmfish_tools')]
    configs = {str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')}
    assert {n[len('mmfish/.mim/'):] for n in names if n.startswith('mmfish/.mim/configs/')
            and n.endswith('.py')} == configs
    assert 'mmfish/.mim/model-index.yml' in names
    assert {n for n in names if n.endswith('metafile.yml')} == {
        f'mmfish/.mim/{p}' for p in metafiles() if p.endswith('metafile.yml')}


def test_mim_search_lists_the_published_models(installed_wheel):
    _, site = installed_wheel
    mim = [sys.executable, '-c', 'from mim.cli import cli; cli()']
    out = subprocess.run(mim + ['search', 'mmfish', '--field', 'top_1_accuracy', 'weight'],
                         env={'PYTHONPATH': str(site), 'PATH': '/usr/bin:/bin'},
                         capture_output=True, text=True, check=True).stdout
    listed = [line.split(': ', 1)[1] for line in out.splitlines()
              if line.startswith('config id: ')]
    # every published model (res2net152-v1b has no published score, so no row here), then
    # the toolboxes' trained models
    assert listed == [v.config.rsplit('/', 1)[1][:-len('.py')] for v in VARIANTS.values()
                      if v.top1 is not None] + [t.model for t in TRAINED.values()]
    block = out.split('config id: resnest101_64xb128_in1k')[1].split('---')[0]
    assert dict(line.split() for line in block.strip().splitlines()) == {
        'imagenet-1k/top_1_accuracy': '82.83', 'weight': 'mmfish://resnest101'}
    assert (site / 'mmfish' / '.mim' / 'configs/mmpretrain/resnest/resnest101_64xb128_in1k.py'
            ).is_file()
    out = subprocess.run(mim + ['search', 'mmfish', '--field', 'box_ap', 'mask_ap', 'weight'],
                         env={'PYTHONPATH': str(site), 'PATH': '/usr/bin:/bin'},
                         capture_output=True, text=True, check=True).stdout
    name = 'mask-rcnn_s50_fpn_syncbn-backbone+head_ms-1x_coco'
    block = out.split(f'config id: {name}')[1].split('---')[0]
    assert dict(line.split() for line in block.strip().splitlines()) == {
        'coco/box_ap': '42.6', 'coco/mask_ap': '38.1', 'weight': f'mmfish://mmdet/{name}'}


def test_mim_search_works_on_the_readmes_own_install(tmp_path):
    """``make install`` installs the checkout in editable mode and links the package folder
    into site-packages, where mim looks: ``mim search mmfish`` lists the models there too (run
    outside the checkout, so that only the installed package can be found)."""
    import sysconfig
    site = Path(sysconfig.get_paths()['purelib'])
    assert (site / 'mmfish').resolve() == (REPO / 'mmfish').resolve(), \
        'mmfish is not installed by make install here (site-packages/mmfish is not the checkout)'
    mim = [sys.executable, '-c', 'from mim.cli import cli; cli()']
    out = subprocess.run(mim + ['search', 'mmfish', '--field', 'top_1_accuracy', 'weight'],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    listed = [line.split(': ', 1)[1] for line in out.stdout.splitlines()
              if line.startswith('config id: ')]
    assert listed == [v.config.rsplit('/', 1)[1][:-len('.py')] for v in VARIANTS.values()
                      if v.top1 is not None] + [t.model for t in TRAINED.values()]
