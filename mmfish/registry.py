"""mmfish's registries: children of MMEngine's root ``MODELS`` and ``HOOKS`` with the scope
``mmfish``.

Any OpenMMLab toolbox config can name an mmfish module with a scoped type, for example
``backbone=dict(type='mmfish.ResNeSt', depth=50)`` or
``default_hooks=dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))``; MMEngine then
imports ``mmfish.registry`` and, through ``locations``, ``mmfish.models`` and ``mmfish.engine``,
which register them. A misspelled ``mmfish.`` type is a KeyError that lists mmfish's types and
the closest one.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

from .suggest import closest


class MMFishRegistry(Registry):
    """A child registry whose unknown names are reported with the registered ones."""

    def get(self, key):
        found = super().get(key)
        if found is not None or not isinstance(key, str):
            return found
        scope, name = self.split_scope_key(key)
        if scope not in (None, self.scope) or not name.isidentifier():
            return found
        try:  # a module-level name, e.g. 'mmfish.MODELS': MMEngine's own fallback finds it
            from mmengine.utils import get_object_from_string
            if get_object_from_string(f'{self.scope}.{name}') is not None:
                return found
        except Exception:
            pass
        names = sorted(self.module_dict)
        close = closest(name, names)
        raise KeyError(f"'{self.scope}.{name}' is not in mmfish's {self.name} registry"
                       + (f"; did you mean '{self.scope}.{close}'?" if close else '')
                       + f' Registered: {", ".join(f"{self.scope}.{n}" for n in names)}')


# mmfish.engine holds a norm layer (mmfish.SyncBN) besides the hooks
MODELS = MMFishRegistry('model', parent=MMENGINE_MODELS, scope='mmfish',
                        locations=['mmfish.models', 'mmfish.engine'])
HOOKS = MMFishRegistry('hook', parent=MMENGINE_HOOKS, scope='mmfish',
                       locations=['mmfish.engine'])

__all__ = ['MODELS', 'HOOKS']
