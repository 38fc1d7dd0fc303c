"""Res2Net's part of the translation of a toolbox config
(:func:`mmfish.models.toolbox.from_toolbox`): mmdet's Res2Net always has the deep (v1b) stem and
avg-down shortcuts (``deep_stem=True, avg_down=True``, ``style='pytorch'``, whatever the config
says), and leaves out the average pool of the last split in the first block of ``layer1``
(``split_style='mmdet'``; mmfish, mmpretrain and the official code apply it); mmpretrain's has
the deep stem and avg-down shortcuts by default."""
from torch import nn

from ...core.toolbox import width_from_toolbox

#: the toolboxes that have a Res2Net
HAVE_IT = ('mmdet', 'mmpretrain')


def toolbox_args(cfg: dict, toolbox: str, base_channels: int) -> None:
    if 'base_width' in cfg:
        cfg['base_width'] = width_from_toolbox(cfg['base_width'], base_channels, 'base_width')
    if toolbox == 'mmdet':  # mmdet's Res2Net fixes these, whatever the config says
        cfg.update(deep_stem=True, avg_down=True, split_style='mmdet')
        cfg.pop('style', None)
    else:
        cfg.setdefault('deep_stem', True)
        cfg.setdefault('avg_down', True)


def with_official_pool(model: nn.Module) -> nn.Module:
    """mmdet's Res2Net ``model`` with the official average pool of the last split in the first
    block of ``layer1`` (stride 1) put back, which mmdet leaves out: then it computes the
    official model (``split_style='official'``)."""
    first = model.layer1[0]
    first.pool = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
    first.conv2_stride = -1  # takes mmdet's `stage_type == 'stage'` branch with the pool
    return model

