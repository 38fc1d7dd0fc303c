"""mmfish's registries: children of MMEngine's root ``MODELS`` and ``HOOKS`` with the scope
``mmfish``.

Any OpenMMLab toolbox config can name an mmfish module with a scoped type, for example
``backbone=dict(type='mmfish.ResNeSt', depth=50)`` or
``default_hooks=dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))``; MMEngine then
imports ``mmfish.registry`` and, through ``locations``, ``mmfish.models`` and ``mmfish.engine``,
which register them.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

# mmfish.engine holds a norm layer (mmfish.SyncBN) besides the hooks
MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmfish',
                  locations=['mmfish.models', 'mmfish.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmfish', locations=['mmfish.engine'])

__all__ = ['MODELS', 'HOOKS']
