"""The converter of each family: its key layouts, rules and variant detection."""
from . import fishnet, res2net, res2net_dla, resnest

FAMILIES = {'fishnet': fishnet, 'res2net': res2net, 'res2netdla': res2net_dla,
            'resnest': resnest}


def converter_of(module):
    """``(name, converter module)`` of the family ``module`` belongs to, or ``(None, None)``."""
    return next(((name, fam) for name, fam in FAMILIES.items() if isinstance(module, fam.MODEL)),
                (None, None))
