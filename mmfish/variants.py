"""The one table of released models: the published variants (their backbone arguments, the
official model they reproduce, its published figures and released files), the models the
toolboxes trained with mmfish's backbones, and the registered backbones without released
weights. Each family declares its own rows (``mmfish/families/<family>/releases.py``, typed by
:mod:`mmfish.core.release`); this module assembles them from the registered families, in the
order of their converter names, and adds or removes the rows of a family registered or
unregistered later. The in1k configs, the converters, the hub, the model index and the docs
read it."""
from . import families  # noqa: F401  (each registers its family)
from .core.family import (
    FAMILIES,
    Family,
    family_trained_models,
    family_variants,
    watch_registrations,
)
from .core.release import OPENMMLAB, TrainedModel, Variant

__all__ = ['VARIANTS', 'DOWNLOADS', 'TRAINED', 'EXTRA_BACKBONES', 'TrainedModel', 'Variant']

#: the published variants by name
VARIANTS = family_variants()

#: the download URL of every released file of :data:`VARIANTS`
DOWNLOADS = {f: u for v in VARIANTS.values() for f, u in zip(v.files, v.urls)}

#: the toolboxes' trained models with mmfish's backbones, by ``<toolbox>/<model>``, as their
#: installed metafiles list them (mmdet 3.3, mmseg 1.2, mmpose 1.3, mmpretrain 1.2), ordered by
#: toolbox
TRAINED = family_trained_models(tuple(OPENMMLAB))

#: registered backbones without released weights, shown beside the published variants
EXTRA_BACKBONES = {name: cfg for key in sorted(FAMILIES)
                   for name, cfg in FAMILIES[key].extra_backbones.items()}


def _follow(family: Family, registered: bool) -> None:
    """A family registered after this table was assembled adds its rows; one unregistered
    takes them away."""
    rows = [(VARIANTS, {v.name: v for v in family.released}),
            (DOWNLOADS, {f: u for v in family.released for f, u in zip(v.files, v.urls)}),
            (TRAINED, {t.name: t for t in family.trained}),
            (EXTRA_BACKBONES, dict(family.extra_backbones))]
    for table, own in rows:
        if registered:
            table.update(own)
        else:
            for name in own:
                table.pop(name, None)


watch_registrations(_follow)
