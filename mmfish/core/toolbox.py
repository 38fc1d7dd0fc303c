"""What the translation of a toolbox's backbone config (:func:`mmfish.models.toolbox.from_toolbox`)
shares with the families' own parts of it (:attr:`~.family.Family.toolbox_args`): the toolboxes
it reads and their widths given per group."""

#: the toolboxes whose backbone configs :func:`~mmfish.models.toolbox.from_toolbox` reads
TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain', 'mmpose')


def width_from_toolbox(value: int, base_channels: int, what: str) -> int:
    """mmfish's ``base_width`` (channels per group of a 64-plane stage) for a toolbox width
    given per group of a ``base_channels``-plane stage."""
    if value * 64 % base_channels:
        raise ValueError(f'{what}={value} with base_channels={base_channels}: mmfish gives '
                         f'base_width * base_channels / 64 channels per group in layer1, and no '
                         f'integer base_width gives {value}')
    return value * 64 // base_channels
