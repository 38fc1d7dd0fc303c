"""ResNeSt's part of the translation of a toolbox config
(:func:`mmfish.models.toolbox.from_toolbox`): ``avg_down_stride`` is mmfish's ``avd``; the
bottleneck width (``base_width`` in mmdet and mmseg, ``width_per_group`` in mmpretrain and
mmpose) applies only with ``groups > 1`` there, and becomes mmfish's ``base_width``."""
from ...core.toolbox import TOOLBOXES, width_from_toolbox

#: the toolboxes that have a ResNeSt
HAVE_IT = TOOLBOXES
#: the name of ResNeSt's bottleneck width argument in each toolbox
WIDTH = {'mmdet': 'base_width', 'mmseg': 'base_width', 'mmpretrain': 'width_per_group',
         'mmpose': 'width_per_group'}


def toolbox_args(cfg: dict, toolbox: str, base_channels: int) -> None:
    width_name = WIDTH[toolbox]
    width = cfg.pop(width_name, 4)
    if cfg.get('groups', 1) != 1:  # with one group the width is the stage's planes
        cfg['base_width'] = width_from_toolbox(width, base_channels, width_name)
    if 'avg_down_stride' in cfg:
        cfg['avd'] = cfg.pop('avg_down_stride')
