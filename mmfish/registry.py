"""mmfish's registry: a child of MMEngine's root ``MODELS`` with the scope ``mmfish``.

Any OpenMMLab toolbox config can name an mmfish module with a scoped type, for example
``backbone=dict(type='mmfish.ResNeSt', depth=50)``; MMEngine then imports ``mmfish.registry``
and, through ``locations``, ``mmfish.models``, which registers the modules.
"""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmfish', locations=['mmfish.models'])

__all__ = ['MODELS']
