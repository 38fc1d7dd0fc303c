"""The converters' knowledge of the families, lent to the strict ``Pretrained`` loading of
:mod:`mmfish.checkpoint.pretrained` to name the likely cause of a mismatch (an un-converted
checkpoint, another depth or width) without the models importing the converters."""
from collections import OrderedDict
from typing import Optional, Tuple

from ..checkpoint.io import ConversionError
from ..checkpoint.pretrained import FamilyAdviser
from ..registry import CHECKPOINT_ADVISERS
from .decide import init_defaults
from .families import converter_of as _converter


@CHECKPOINT_ADVISERS.register_module()
class ConverterAdviser(FamilyAdviser):

    def family(self, module):
        name, fam = _converter(module)
        return name, fam.FAMILY if fam else None

    def detect(self, module, state) -> Optional[dict]:
        _, fam = _converter(module)
        if fam is None:
            return None
        try:
            cfg = fam.detect({f'backbone.{k}': v for k, v in state.items()}, 'checkpoint')
        except Exception:  # not enough of the model to tell
            return None
        # what detection leaves out when it is the default
        defaults = dict(groups=1, base_width=64) if fam.FAMILY == 'FishNet' else \
            dict(base_channels=64)
        arguments = init_defaults(fam.MODEL)
        return {**cfg, **{k: v for k, v in defaults.items() if k not in cfg and k in arguments}}

    def convert_keys(self, module, whole) -> Optional[Tuple[dict, str]]:
        _, fam = _converter(module)
        if fam is None:
            return None
        try:
            renamed, layout, _ = fam.to_mmfish_keys(OrderedDict(whole), 'checkpoint')
        except ConversionError:
            return None
        prefix = 'backbone.'
        return OrderedDict((k[len(prefix):], v) for k, v in renamed.items()
                           if k.startswith(prefix)), layout
