"""``mmfish.create_model``: a released model as a plain PyTorch module, its weights those of the
converted file of ``mmfish://<name>`` (served by the zoo fixture's mirror folder, a stand-in
for ResNeSt-14d's released file), loaded strictly."""
import pytest
import torch
from mmengine.config import Config

import mmfish
from mmfish.apis import Classifier, Features
from mmfish.checkpoint.io import CheckpointMismatchError
from mmfish.variants import VARIANTS
from mmfish.weights.hub import converted_path

from tests.conftest import REPO, build_in_scope


def _converted():
    return torch.load(converted_path('resnest14d'), weights_only=True)


def _rewrite(edit):
    """Edit the cached converted file of ``mmfish://resnest14d`` (``edit(ckpt)``)."""
    ckpt = _converted()
    edit(ckpt)
    torch.save(ckpt, converted_path('resnest14d'))


def test_classifier_has_exactly_the_converted_files_tensors(zoo):
    _, _, _, official = zoo
    model = mmfish.create_model('mmfish://resnest14d')
    assert isinstance(model, Classifier) and model.num_classes == 1000
    state, converted = model.state_dict(), _converted()['state_dict']
    assert sorted(state) == sorted(converted)
    assert all(torch.equal(state[k], converted[k]) for k in converted)
    assert torch.equal(state['head.fc.weight'], official['fc.weight'])  # the released fc


def test_classifier_computes_what_the_in1k_config_computes(zoo):
    model = mmfish.create_model('resnest14d').eval()
    cfg = Config.fromfile(REPO / VARIANTS['resnest14d'].config)
    peer = build_in_scope('mmpretrain', cfg.model).eval()
    peer.load_state_dict(_converted()['state_dict'], strict=True)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), peer(x, mode='tensor'), rtol=1e-5, atol=1e-5)


def test_features_only_returns_the_levels_with_their_channels_and_strides(zoo):
    _, _, _, official = zoo
    model = mmfish.create_model('resnest14d', features_only=True, out_indices=(1, 3))
    assert isinstance(model, Features)
    assert model.feature_info.channels() == [512, 2048]
    assert model.feature_info.reduction() == [8, 32]
    assert model.feature_info.module_name() == ['layer2', 'layer4']
    converted = _converted()['state_dict']
    state = model.state_dict()
    assert sorted(state) == sorted(k for k in converted if k.startswith('backbone.'))
    assert all(torch.equal(v, converted[k]) for k, v in state.items())
    assert torch.equal(state['backbone.layer1.0.conv1.weight'], official['layer1.0.conv1.weight'])
    with torch.no_grad():
        features = model.eval()(torch.rand(2, 3, 64, 96))
    assert isinstance(features, list)
    assert [tuple(f.shape) for f in features] == [(2, 512, 8, 12), (2, 2048, 2, 3)]
    every = mmfish.create_model('resnest14d', features_only=True)
    assert every.feature_info.reduction() == [4, 8, 16, 32]


@pytest.mark.parametrize('features_only', [False, True])
@pytest.mark.parametrize('edit, word', [
    (lambda c: c['state_dict'].update({'backbone.extra.weight': torch.ones(3)}),
     'extra.weight'),
    (lambda c: c['state_dict'].pop('backbone.layer1.0.conv1.weight'),
     'layer1.0.conv1.weight'),
    (lambda c: c['state_dict'].update({'backbone.layer1.0.conv1.weight': torch.ones(1, 1)}),
     'another shape'),
], ids=['unexpected', 'missing', 'shape'])
def test_a_file_that_does_not_fit_is_refused(zoo, edit, word, features_only):
    mmfish.create_model('resnest14d', features_only=True)  # fetched, converted, cached
    _rewrite(edit)
    with pytest.raises(CheckpointMismatchError, match='nothing was loaded') as err:
        mmfish.create_model('resnest14d', features_only=features_only)
    assert word in str(err.value)


def test_another_class_count_gets_a_new_head_on_the_loaded_backbone(zoo):
    model = mmfish.create_model('resnest14d', num_classes=10)
    assert model.head['fc'].out_features == 10
    converted = _converted()['state_dict']
    assert all(torch.equal(v, converted[k]) for k, v in model.state_dict().items()
               if not k.startswith('head.'))
    model.train()
    model(torch.rand(2, 3, 64, 64)).sum().backward()  # it trains


def test_a_file_without_classifier_needs_num_classes(zoo):
    mmfish.create_model('resnest14d', features_only=True)

    def backbone_only(ckpt):
        for key in ('head.fc.weight', 'head.fc.bias'):
            ckpt['state_dict'].pop(key)
        ckpt['meta']['mmfish']['num_classes'] = None

    _rewrite(backbone_only)
    with pytest.raises(ValueError, match='the file holds no classifier .*num_classes=N'):
        mmfish.create_model('resnest14d')
    assert mmfish.create_model('resnest14d', num_classes=5).head['fc'].out_features == 5


def test_pretrained_false_downloads_nothing(tmp_path, monkeypatch):
    home = tmp_path / 'home'
    monkeypatch.setenv('MMFISH_HOME', str(home))
    monkeypatch.setenv('MMFISH_OFFLINE', '1')
    model = mmfish.create_model('fishnet99', pretrained=False, features_only=True,
                                base_channels=8)
    assert model.feature_info.channels() == [40, 104, 200, 264]
    classifier = mmfish.create_model('mmfish://fishnet201', pretrained=False, num_classes=7,
                                     base_channels=8).eval()
    with torch.no_grad():
        assert tuple(classifier(torch.rand(1, 3, 64, 64)).shape) == (1, 7)
    assert mmfish.create_model('resnest14d', pretrained=False).num_classes == 1000
    assert not home.exists()


BAD = [  # (name, arguments, error, words)
    ('resnest5', {}, ValueError, ["unknown model 'resnest5'", "did you mean 'resnest50'?",
                                  'valid names: fishnet99, ']),
    ('fishnet201', {}, ValueError, ['no released weights', 'pretrained=False',
                                    'fishnet201-welltrained']),
    ('fishnext150-32x4d', {}, ValueError, ['no released weights']),
    ('resnest14d', dict(out_indices=(1, )), ValueError, ['features_only=True']),
    ('resnest14d', dict(features_only=True, num_classes=3), ValueError, ['a classifier']),
    ('resnest14d', dict(num_classes=0), ValueError, ['positive int']),
    ('resnest14d', dict(pretrained='yes'), TypeError, ['True or False']),
    ('resnest14d', dict(init_cfg=None), ValueError, ['init_cfg cannot be given']),
    ('resnest14d', dict(depth=50), ValueError, ['depth=50', 'fix depth=14']),
    ('resnest14d', dict(features_only=True, out_indices=(4, )), ValueError, ['out_indices']),
    ('resnest14d', dict(features_only=True, norm_evl=True), ValueError,
     ["'norm_evl' (did you mean 'norm_eval'?)"]),
]


@pytest.mark.parametrize('name, arguments, error, words', BAD,
                         ids=[f'{b[0]}-{"-".join(b[1]) or "name"}' for b in BAD])
def test_bad_arguments_are_refused_with_the_valid_choices(zoo, name, arguments, error, words):
    with pytest.raises(error) as err:
        mmfish.create_model(name, **arguments)
    for word in words:
        assert word in str(err.value)


def test_model_names():
    assert 'resnest14d' in mmfish.apis.model_names(pretrained=True)
    assert 'fishnet201' not in mmfish.apis.model_names(pretrained=True)
    assert 'fishnext150-32x4d' in mmfish.apis.model_names()


def test_a_trained_models_weights_as_classifier_and_features(tmp_path, monkeypatch):
    """``<toolbox>/<model>``: the backbone arguments come from the converted file; a toolbox's
    detector (a file with other parts than a classifier) gives features only."""
    from tests.weights import test_hub  # its stand-in, served and converted
    test_hub.test_a_trained_model_converts_whole_into_its_toolbox_folder(tmp_path, monkeypatch)
    name = 'mmpretrain/res2net50-w14-s8_3rdparty_8xb32_in1k'
    converted = torch.load(converted_path(name), weights_only=True)
    model = mmfish.create_model(f'mmfish://{name}')
    assert model.num_classes == 10
    assert all(torch.equal(v, converted['state_dict'][k]) for k, v in model.state_dict().items())
    features = mmfish.create_model(name, features_only=True, out_indices=(3, ))
    assert features.feature_info.channels() == [512]
    with pytest.raises(ValueError, match='pretrained=False has nothing of it to build'):
        mmfish.create_model(name, pretrained=False)
    converted['meta']['mmfish']['parts'] = ['neck', 'rpn_head', 'roi_head']
    torch.save(converted, converted_path(name))
    with pytest.raises(ValueError, match='not a classifier: use features_only=True'):
        mmfish.create_model(name)
    assert mmfish.create_model(name, features_only=True).feature_info.reduction() == \
        [4, 8, 16, 32]
