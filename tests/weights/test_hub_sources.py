"""``mmfish://`` names and MMEngine's ``open-mmlab://`` names through each file's sources: with
download.openmmlab.com replaced by a parked page (HTML, 200 OK) and a copy under the same path
on another host, both still load; a Hub copy (safetensors, timm's layout) converts to exactly
the tensors its original converts to; ``MMFISH_OFFLINE=1`` without a cached file or a mirror
fails at once naming the remedies. The hosts are loopback servers standing in for the real
ones (the rows' URLs and :data:`mmfish.checkpoint.sources.SAME_PATH` are redirected)."""
import dataclasses
import hashlib
import io
import re

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmfish.checkpoint import CheckpointError
from mmfish.checkpoint import sources as sources_module
from mmfish.checkpoint.integrity import file_sha256
from mmfish.checkpoint.sources import Source, hub_source
from mmfish.hub import converted_path, resolve
from mmfish.variants import TRAINED, VARIANTS

from tests.checkpoint.scripted_server import ScriptedServer
from tests.conftest import FileServer, build_in_scope
from tests.weights.test_conversion import _random_official_checkpoint

PARKED = (b'<!DOCTYPE html>\n<html><head><title>download.openmmlab.com expired</title></head>'
          b'<body>This domain has expired. Renew it now.</body></html>\n')


@pytest.fixture
def hosts(tmp_path, monkeypatch):
    """``(parked, copy)``: a parked host that answers every path with an HTML page (200 OK),
    and a host serving a folder under the same paths; ``SAME_PATH`` maps the first to the
    second, as download.openmmlab.com maps to OpenMMLab's older bucket."""
    class Parked(ScriptedServer):
        pass

    parked = Parked()
    parked.answers = _EveryPath(PARKED)
    (tmp_path / 'bucket').mkdir()
    copy = FileServer(tmp_path / 'bucket')
    monkeypatch.setattr(sources_module, 'SAME_PATH', {parked.url + '/': (copy.url + '/', )})
    monkeypatch.setenv('MMFISH_HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    for name in ('MMFISH_MIRROR', 'MMFISH_OFFLINE', 'HF_ENDPOINT'):
        monkeypatch.delenv(name, raising=False)
    yield parked, copy
    parked.close()
    copy.close()


class _EveryPath(dict):
    """Scripted answers that give every path the same page."""

    def __init__(self, body: bytes):
        super().__init__()
        self.body = body

    def get(self, path, default=None):
        return dict(body=self.body, headers={'Content-Type': 'text/html'}, status=200,
                    send=None, byte_delay=0.0)


def test_a_trained_model_loads_when_its_host_is_parked_and_the_same_path_serves_it(
        hosts, capsys, monkeypatch):
    """``mmfish://mmpretrain/<model>``: the toolbox's URL answers with a parked page, the same
    path on the older bucket serves the file: skipped saying why, fetched, converted whole."""
    parked, copy = hosts
    backbone = dict(type='Res2Net', depth=50, scales=8, base_width=14, base_channels=16,
                    stem_channels=16)
    state = {f'backbone.{k}': v for k, v in build_in_scope('mmpretrain', backbone)
             .state_dict().items()}
    state.update({'head.fc.weight': torch.rand(10, 512), 'head.fc.bias': torch.rand(10)})
    folder = copy.root / 'mmclassification' / 'v0' / 'res2net'
    folder.mkdir(parents=True)
    standin = folder / 'standin.pth'
    torch.save({'meta': {'mmcls_version': '0.16.0'}, 'state_dict': state}, standin)
    file = f'res2net50-w14-s8_3rdparty_8xb32_in1k_20210927-{file_sha256(standin)[:8]}.pth'
    standin.rename(folder / file)
    name = 'mmpretrain/res2net50-w14-s8_3rdparty_8xb32_in1k'
    url = f'{parked.url}/mmclassification/v0/res2net/{file}'
    monkeypatch.setitem(TRAINED, name, dataclasses.replace(TRAINED[name], url=url, copies=()))
    path = resolve(f'mmfish://{name}', log=print)
    out = capsys.readouterr().out
    assert path == converted_path(name)
    assert (f'skipped source 1 of 2: {url}: a web page, not a checkpoint: the host looks '
            'parked') in out
    assert f'from {copy.url}/mmclassification/v0/res2net/{file} (source 2 of 2)' in out
    loaded = _load_checkpoint(f'mmfish://{name}', map_location='cpu')
    assert loaded['meta']['mmfish']['trained'] == name
    assert torch.equal(loaded['state_dict']['head.fc.weight'], state['head.fc.weight'])


def test_open_mmlab_names_load_when_the_host_is_parked_and_the_same_path_serves_them(
        hosts, monkeypatch):
    """``open-mmlab://<name>``: MMEngine maps it to a download.openmmlab.com URL (here the
    parked host); the same path on the older bucket serves the file."""
    from mmengine.runner import checkpoint as mmengine_checkpoint
    parked, copy = hosts
    buffer = io.BytesIO()
    torch.save({'conv1.weight': torch.ones(2, 3, 1, 1)}, buffer)
    data = buffer.getvalue()
    file = f'resnet50_v1c-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    (copy.root / 'pretrain' / 'third_party').mkdir(parents=True)
    (copy.root / 'pretrain' / 'third_party' / file).write_bytes(data)
    monkeypatch.setattr(mmengine_checkpoint, 'get_external_models', lambda: {
        'resnet50_v1c': f'{parked.url}/pretrain/third_party/{file}'})
    loaded = CheckpointLoader.load_checkpoint('open-mmlab://resnet50_v1c', map_location='cpu')
    assert torch.equal(loaded['conv1.weight'], torch.ones(2, 3, 1, 1))
    assert copy.requests == {f'/pretrain/third_party/{file}': 1}


def _hub_copy(state: dict, path) -> bytes:
    """timm's Hub form of a ResNeSt state dict: the same keys (timm's ResNeSt names its
    tensors as the official code does) and tensors, in a safetensors file."""
    import timm
    from safetensors.torch import save_file
    assert set(timm.create_model('resnest14d').state_dict()) == set(state)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path.read_bytes()


def test_a_hub_copy_converts_to_exactly_the_tensors_of_its_original(tmp_path, monkeypatch):
    """ResNeSt-14d: the released file (official layout) from one home, timm's safetensors copy
    pinned by its sha256 from another (the official URL answering 404): the converted tensors
    are the same, and the copy's origin is recorded in the meta."""
    from tests.checkpoint.scripted_server import ScriptedServer
    server = ScriptedServer()
    try:
        variant = VARIANTS['resnest14d']
        standin = tmp_path / 'standin.pth'
        state = _random_official_checkpoint(variant, standin)
        file = f'gluon_resnest14-{file_sha256(standin)[:8]}.pth'
        data = _hub_copy(state, tmp_path / 'model.safetensors')
        commit = 'e' * 40
        server.answer(f'/released/{file}', standin.read_bytes())
        server.answer(f'/timm/resnest14d.gluon_in1k/resolve/{commit}/model.safetensors', data)
        monkeypatch.setenv('HF_ENDPOINT', server.url)
        for name in ('MMFISH_MIRROR', 'MMFISH_OFFLINE', 'HF_HUB_OFFLINE'):
            monkeypatch.delenv(name, raising=False)
        copy = hub_source('timm/resnest14d.gluon_in1k', commit,
                          hashlib.sha256(data).hexdigest())
        converted = {}
        for form, url in (('original', f'{server.url}/released/{file}'),
                          ('hub', f'{server.url}/gone/{file}')):
            monkeypatch.setenv('MMFISH_HOME', str(tmp_path / form))
            monkeypatch.setitem(VARIANTS, 'resnest14d', dataclasses.replace(
                variant, files=(file, ), urls=(url, ), copies=(copy, )))
            converted[form] = torch.load(resolve('mmfish://resnest14d', log=lambda s: None),
                                         weights_only=True)
        original, hub = converted['original'], converted['hub']
        assert original['state_dict'].keys() == hub['state_dict'].keys()
        for key, tensor in original['state_dict'].items():
            assert torch.equal(tensor, hub['state_dict'][key]), key
        assert hub['meta']['mmfish']['variant'] == original['meta']['mmfish']['variant'] \
            == 'resnest14d'
        assert hub['meta']['mmfish']['fetched'] == dict(
            source=f'{server.url}/timm/resnest14d.gluon_in1k/resolve/{commit}/model.safetensors',
            sha256=hashlib.sha256(data).hexdigest(), pin='sha256',
            pin_value=hashlib.sha256(data).hexdigest(), host='Hugging Face Hub')
        assert (tmp_path / 'hub' / 'originals' / 'timm--resnest14d.gluon_in1k.safetensors'
                ).read_bytes() == data
        assert server.requests[f'/gone/{file}'] == 1
    finally:
        server.close()


def test_offline_without_a_cached_file_or_mirror_fails_at_once_naming_add_and_the_mirror(
        tmp_path, monkeypatch):
    monkeypatch.setenv('MMFISH_HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('MMFISH_OFFLINE', '1')
    monkeypatch.delenv('MMFISH_MIRROR', raising=False)
    originals = tmp_path / 'home' / 'originals'
    with pytest.raises(CheckpointError, match='^' + re.escape(
            f'resnest50-528c19ca.pth is not in the cache ({originals}) and MMFISH_OFFLINE=1 '
            'tries no built-in source; no mirror is set ($MMFISH_MIRROR). Without network: '
            'python -m mmfish.hub add FILE puts a copy of resnest50-528c19ca.pth you have (from '
            'a colleague, another machine) into the cache, verified, so that mmfish://resnest50 '
            'works offline; or set $MMFISH_MIRROR to folders or URL prefixes (separated by '
            'spaces) that hold resnest50-528c19ca.pth') + '$'):
        resolve('mmfish://resnest50')


def test_every_released_file_lists_its_sources_with_a_pin_or_says_it_has_none():
    """The rows: the release's URL first; each Hub copy either pinned (sha256 or commit) or
    tried only on request; same-name copies verified by the name's digest."""
    for v in VARIANTS.values():
        if not v.files:
            continue
        file = v.files[0]
        assert v.sources[0].location == v.url
        for source in v.sources:
            kind, value = source.pin(file)
            if source.hub:
                assert kind in ('sha256', 'commit', None), (v.name, source)
            else:
                assert kind == ('layout' if value == '' else 'name'), (v.name, source)
                assert isinstance(source, Source)
