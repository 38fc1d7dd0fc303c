"""OpenMMLab's model index of mmfish, generated from :mod:`mmfish.variants`: ``model-index.yml``,
one ``metafile.yml`` per family under ``configs/mmpretrain/<family>/`` (the ImageNet variants)
and one per toolbox under ``configs/<toolbox>/trained/`` (the toolboxes' trained models), which
``mim search mmfish`` reads from the installed package (``mmfish/.mim/``: links to them in a
checkout, their copies in a wheel)."""
from collections import OrderedDict
from pathlib import Path
from typing import Dict

import yaml

from mmfish.core.family import FAMILIES
from mmfish.variants import TRAINED, VARIANTS

INDEX = 'model-index.yml'


def family_collections() -> Dict[str, dict]:
    """The papers of the registered families (:attr:`~mmfish.core.family.Family.collection`),
    as OpenMMLab's metafiles cite them, by converter name."""
    return {key: FAMILIES[key].collection for key in sorted(FAMILIES)
            if FAMILIES[key].collection}


_HEADER = ('# Generated from mmfish/variants.py by python tools/model_index.py; do not edit.\n')


def _dump(data) -> str:
    return _HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def metafiles() -> Dict[str, str]:
    """``{path relative to the checkout: text}`` of the model index and the metafiles."""
    families: Dict[str, list] = OrderedDict()
    papers = family_collections()
    for v in VARIANTS.values():
        families.setdefault(v.family, []).append(v)
    files = OrderedDict()
    for family, variants in families.items():
        info = papers[family]
        collection = dict(Name=info['Name'], Metadata=dict(
            **{'Training Data': 'ImageNet-1k'}, Architecture=info['Architecture']),
            Paper=info['Paper'])
        models = []
        for v in variants:
            model = dict(Name=Path(v.config).stem, Metadata=dict(
                Parameters=int(round(v.params_m * 1e6)), **{'Training Data': 'ImageNet-1k'}),
                **{'In Collection': info['Name']})
            if v.top1 is not None:
                model['Results'] = [dict(Task='Image Classification', Dataset='ImageNet-1k',
                                         Metrics={'Top 1 Accuracy': v.top1})]
            if v.files:
                # the released weights by name: fetched, verified and converted by mmfish.hub
                model['Weights'] = f'mmfish://{v.name}'
            model['Config'] = v.config
            models.append(model)
        path = f'configs/mmpretrain/{family}/metafile.yml'
        files[path] = _dump(dict(Collections=[collection], Models=models))
    files.update(_trained())
    files[INDEX] = _dump(dict(Import=[p for p in files]))
    return files


#: the datasets of the toolboxes' trained models, as their metafiles name them in the metadata
_TRAINING_DATA = {'COCO': 'COCO', 'ADE20K': 'ADE20K', 'Cityscapes': 'Cityscapes',
                  'ImageNet-1k': 'ImageNet-1k'}


def _trained() -> Dict[str, str]:
    """The metafiles of the toolboxes' trained models, one per toolbox."""
    toolboxes: Dict[str, list] = OrderedDict()
    papers = family_collections()
    for t in TRAINED.values():
        toolboxes.setdefault(t.toolbox, []).append(t)
    files = OrderedDict()
    for toolbox, rows in toolboxes.items():
        names = list(dict.fromkeys(t.family for t in rows))
        collections = [dict(Name=f'{toolbox} {name}', Metadata=dict(
            Architecture=papers[name.lower()]['Architecture']),
            Paper=papers[name.lower()]['Paper']) for name in names]
        models = []
        for t in rows:
            results = OrderedDict()
            for metric, task in t.tasks.items():
                results.setdefault(task, {})[metric] = t.scores[metric]
            models.append(dict(
                Name=t.model, Metadata={'Training Data': _TRAINING_DATA[t.dataset]},
                **{'In Collection': f'{toolbox} {t.family}'},
                Results=[dict(Task=task, Dataset=t.dataset, Metrics=metrics)
                         for task, metrics in results.items()],
                Weights=f'mmfish://{t.name}', Config=t.config))
        files[f'configs/{toolbox}/trained/metafile.yml'] = _dump(
            dict(Collections=collections, Models=models))
    return files


def write(root: str) -> list:
    """Write the model index and the metafiles into the checkout ``root``; return the paths."""
    from mmfish.checkpoint.io import write_text_atomic
    written = []
    for path, text in metafiles().items():
        write_text_atomic(str(Path(root) / path), text)
        written.append(path)
    return written
