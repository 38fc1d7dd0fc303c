"""The published variants: their backbone arguments, the official model they reproduce and its
published figures. The in1k configs, the converters and the docs' model table read this table."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    name: str  #: config stem, ``configs/<family>/<name>_<batch>_in1k.py``
    official: str  #: the official model's name
    backbone: dict  #: mmfish backbone arguments (unscoped ``type``)
    params_m: float  #: published parameters, millions
    top1: float  #: published ImageNet-1k top-1 (%) at ``input_size``
    input_size: int = 224
    batch: str = '8xb32'  #: GPUs x images per GPU of the official recipe
    extra: dict = field(default_factory=dict)

    @property
    def family(self) -> str:
        return self.backbone['type'].lower().replace('fishnext', 'fishnet')

    @property
    def config(self) -> str:
        return f'configs/mmpretrain/{self.family}/{self.name}_{self.batch}_in1k.py'

    def convert_command(self, src: str = 'SRC') -> str:
        """The command that converts the released weights into the file the configs load."""
        return f'python -m mmfish.convert {src} checkpoints/{self.name}_mmfish.pth'


def _res2net(name, official, depth, w, s, params, top1, groups=1, v1b=False):
    backbone = dict(type='Res2Net', depth=depth, scales=s, base_width=w)
    if groups > 1:
        backbone['groups'] = groups
    if v1b:
        backbone.update(deep_stem=True, avg_down=True)
    return Variant(name, official, backbone, params, top1)


VARIANTS = {v.name: v for v in [
    Variant('fishnet99', 'fishnet99', dict(type='FishNet', depth=99), 16.62, 77.41),
    Variant('fishnet150', 'fishnet150', dict(type='FishNet', depth=150), 24.96, 78.14),
    Variant('fishnet201', 'fishnet201', dict(type='FishNet', depth=201), 44.58, 78.76),
    _res2net('res2net50-w26-s4', 'res2net50_26w_4s', 50, 26, 4, 25.70, 77.99),
    _res2net('res2net50-w48-s2', 'res2net50_48w_2s', 50, 48, 2, 25.29, 77.32),
    _res2net('res2net50-w14-s8', 'res2net50_14w_8s', 50, 14, 8, 25.06, 78.14),
    _res2net('res2net50-w26-s6', 'res2net50_26w_6s', 50, 26, 6, 37.05, 78.58),
    _res2net('res2net50-w26-s8', 'res2net50_26w_8s', 50, 26, 8, 48.40, 79.20),
    _res2net('res2net101-w26-s4', 'res2net101_26w_4s', 101, 26, 4, 45.21, 79.19),
    _res2net('res2next50', 'res2next50', 50, 4, 4, 24.67, 78.24, groups=8),
    _res2net('res2net50-v1b-w26-s4', 'res2net50_v1b_26w_4s', 50, 26, 4, 25.72, 80.27, v1b=True),
    _res2net('res2net101-v1b-w26-s4', 'res2net101_v1b_26w_4s', 101, 26, 4, 45.23, 81.23,
             v1b=True),
    Variant('resnest50', 'resnest50', dict(type='ResNeSt', depth=50, stem_channels=64), 27.48,
            81.03, 224, '64xb128'),
    Variant('resnest101', 'resnest101', dict(type='ResNeSt', depth=101, stem_channels=128),
            48.28, 82.83, 256, '64xb128'),
    Variant('resnest200', 'resnest200', dict(type='ResNeSt', depth=200, stem_channels=128),
            70.20, 83.84, 320, '64xb128'),
    Variant('resnest269', 'resnest269', dict(type='ResNeSt', depth=269, stem_channels=128),
            110.93, 84.54, 416, '64xb128'),
]}

#: registered backbones without released weights, shown beside the published variants
EXTRA_BACKBONES = {'fishnext150-32x4d': dict(type='FishNeXt', depth=150)}


def classifier_parts(backbone: dict, num_classes: int = 1000) -> dict:
    """The neck and head of the official classifier for a backbone config (mmpretrain types)."""
    if backbone['type'] in ('FishNet', 'FishNeXt'):
        scale = backbone.get('base_channels', 64) / 64
        channels = int(2112 * scale)
        return dict(neck=dict(type='mmfish.FishScore', in_channels=channels, pool=True),
                    head_in_channels=channels // 2)
    expansion_channels = 2048 * backbone.get('base_channels', 64) // 64
    return dict(neck=dict(type='GlobalAveragePooling'), head_in_channels=expansion_channels)
