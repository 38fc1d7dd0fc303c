"""``mmfish://`` weights on the real user path: ``mim train`` of a config that names them, with
``$MMFISH_MIRROR`` (a loopback HTTP server, then nothing) standing in for the official URL."""
import os
from pathlib import Path

import pytest

from mmfish.checkpoint.integrity import file_sha256
from mmfish.variants import VARIANTS
from mmfish_tools.mim_runs import MimError, run_mim

from tests.conftest import REPO
from tests.weights.test_conversion import _random_official_checkpoint

ONE_STEP = ['train_cfg.max_iters=1', 'default_hooks.checkpoint.interval=1',
            'default_hooks.logger.interval=1']
#: a test-only row of the variants table, imported by the config: the stand-in's own digest
STANDIN_ROW = """import dataclasses
from mmfish.variants import VARIANTS
VARIANTS[{variant!r}] = dataclasses.replace(VARIANTS[{variant!r}], files=({name!r}, ))
"""
#: the mmseg tiny twin (ResNeSt-50 at full width) with the released ImageNet weights, one
#: training step and no validation
CONFIG = """_base_ = {twin!r}
custom_imports = dict(imports=['mmfish', 'standin_row'], allow_failed_imports=False)
model = dict(backbone=dict(init_cfg=dict(
    _delete_=True, type='Pretrained', prefix='backbone.', checkpoint='mmfish://resnest50')))
val_dataloader = val_cfg = val_evaluator = None
"""


def _env(tmp_path, mirror: str) -> dict:
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get('PYTHONPATH')) if p)
    return dict(MMFISH_HOME=str(tmp_path / 'home'), MMFISH_MIRROR=mirror, PYTHONPATH=path)


def test_mim_train_fetches_converts_and_caches_then_reads_the_cache(workspace, tmp_path,
                                                                   file_server):
    standin = file_server.root / 'standin.pth'
    official = _random_official_checkpoint(VARIANTS['resnest50'], standin)
    name = f'resnest50-{file_sha256(standin)[:8]}.pth'
    standin.rename(file_server.root / name)
    (tmp_path / 'standin_row.py').write_text(STANDIN_ROW.format(variant='resnest50', name=name))
    config = tmp_path / 'deeplabv3_resnest50-d8_in1k-weights_tiny-ade20k.py'
    twin = REPO / 'configs/tiny/mmseg/deeplabv3_resnest50-d8_1xb4-100i_tiny-ade20k.py'
    config.write_text(CONFIG.format(twin=str(twin)))
    env = _env(tmp_path, file_server.url)
    run_mim('train', 'mmseg', str(config), str(tmp_path / 'first'), ['--cfg-options', *ONE_STEP],
            log=lambda line: None, env=env, cwd=str(workspace))
    text = (tmp_path / 'first' / 'mim_train.log').read_text()
    assert f'fetching {file_server.url}/{name}' in text and 'matches its name' in text
    assert 'converting ' in text and 'variant: resnest50;' in text
    assert ('avd_first=False (not visible in the weights): resnest50, picked by the released '
            f'file name {name} (sha256 verified)') in text
    backbone = len([k for k in official if not k.startswith('fc.')])
    assert f'loaded {backbone} tensors from mmfish://resnest50' in text
    assert file_server.requests == {f'/{name}': 1}
    cached = tmp_path / 'home' / 'checkpoints' / 'resnest50_mmfish.pth'
    assert cached.is_file() and (tmp_path / 'home' / 'originals' / name).is_file()

    file_server.close()  # no network: the second run reads the cache
    run_mim('train', 'mmseg', str(config), str(tmp_path / 'second'),
            ['--cfg-options', *ONE_STEP], log=lambda line: None, env=env, cwd=str(workspace))
    text = (tmp_path / 'second' / 'mim_train.log').read_text()
    assert 'fetching' not in text and 'converting' not in text
    assert f'loaded {backbone} tensors from mmfish://resnest50' in text


def _card_run(workspace, tmp_path) -> Path:
    """A folder to run the card's command in, with the tiny ADE20K where its config looks
    (``data/ade/ADEChallengeData2016``), and a mirror folder beside it."""
    (tmp_path / 'mirror').mkdir()
    data = tmp_path / 'run' / 'data' / 'ade'
    data.mkdir(parents=True)
    (data / 'ADEChallengeData2016').symlink_to(Path(workspace) / 'data' / 'tiny' / 'ade20k')
    return tmp_path / 'mirror'


def test_the_cards_command_refuses_a_standin_under_the_official_name(workspace, tmp_path):
    """``mim train mmseg configs/deeplabv3_resnest101_ade20k.py`` with a mirror that holds
    another file under the official name: refused for its digest, and nothing is cached."""
    mirror = _card_run(workspace, tmp_path)
    _random_official_checkpoint(VARIANTS['resnest101'], mirror / 'resnest101-22405ba7.pth')
    env = dict(_env(tmp_path, str(mirror)), MMFISH_OFFLINE='1')  # the mirror alone
    with pytest.raises(MimError):
        run_mim('train', 'mmseg', str(REPO / 'configs' / 'deeplabv3_resnest101_ade20k.py'),
                'work_dirs/card', log=lambda line: None, env=env, cwd=str(tmp_path / 'run'))
    text = (tmp_path / 'run' / 'work_dirs' / 'card' / 'mim_train.log').read_text()
    assert 'but its name resnest101-22405ba7.pth says it begins with 22405ba7' in text
    home = tmp_path / 'home'
    assert sorted(p.name for p in home.rglob('*') if p.is_file()) == [
        'resnest101-22405ba7.pth.lock', 'resnest101_mmfish.pth.lock']


@pytest.mark.slow
def test_the_cards_command_trains_with_the_weights_it_names(workspace, tmp_path):
    """The card's command on tiny ADE20K-format data, with a stand-in for the released
    ResNeSt-101 in a mirror and a test-only row giving its digest: fetched, converted, loaded
    strictly, and training steps run (at the config's 512x512 crops: minutes on a CPU)."""
    mirror = _card_run(workspace, tmp_path)
    standin = mirror / 'standin.pth'
    _random_official_checkpoint(VARIANTS['resnest101'], standin)
    name = f'resnest101-{file_sha256(standin)[:8]}.pth'
    standin.rename(mirror / name)
    (tmp_path / 'standin_row.py').write_text(STANDIN_ROW.format(variant='resnest101', name=name))
    config = tmp_path / 'card_with_standin_row.py'
    config.write_text(f"_base_ = {str(REPO / 'configs' / 'deeplabv3_resnest101_ade20k.py')!r}\n"
                      "custom_imports = dict(imports=['mmfish', 'standin_row'], "
                      "allow_failed_imports=False)\n")
    run_mim('train', 'mmseg', str(config), 'work_dirs/card',
            ['--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
             'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2'],
            log=lambda line: None, env=_env(tmp_path, str(mirror)), cwd=str(tmp_path / 'run'))
    text = (tmp_path / 'run' / 'work_dirs' / 'card' / 'mim_train.log').read_text()
    assert 'matches its name' in text and 'variant: resnest101;' in text
    assert 'loaded ' in text and ' tensors from mmfish://resnest101' in text
    assert 'Iter(train) [2/2]' in text
