"""Every tiny dataset by its folder name under ``data/tiny``, and :func:`make_tiny_datasets`,
which writes those asked (what ``tools/make_tiny_datasets.py``, ``make demo`` and the tests
call):

- ``coco``, ``ade20k``, ``imagenet``: shapes (:mod:`.tiny_data`);
- ``coco_pose``: stick figures with COCO's 17 keypoints (:mod:`.tiny_pose`);
- ``coco_panoptic``: things on stuff, COCO panoptic (:mod:`.tiny_panoptic`).
"""
from typing import Callable, Dict, List, Sequence

from .tiny_data import Log, PathLike, TinyDataset, make_ade20k, make_coco, make_imagenet
from .tiny_panoptic import make_coco_panoptic
from .tiny_pose import make_coco_pose

#: the makers; ``num_classes`` is the number of shapes of the first three
MAKERS: Dict[str, Callable[..., TinyDataset]] = dict(
    coco=make_coco, ade20k=make_ade20k, imagenet=make_imagenet, coco_pose=make_coco_pose,
    coco_panoptic=make_coco_panoptic)
DATASETS = tuple(MAKERS)
_SHAPES = ('coco', 'ade20k', 'imagenet')


def make_tiny_datasets(root: PathLike = 'data/tiny', which: Sequence[str] = DATASETS,
                       seed: int = 0, num_classes: int = 3, force: bool = False,
                       log: Log = None) -> List[TinyDataset]:
    """Write the datasets named in ``which`` (default: all of :data:`DATASETS`) with their
    default sizes under ``root``; ``num_classes`` applies to the shape datasets."""
    unknown = set(which) - set(DATASETS)
    if unknown:
        raise ValueError(f'unknown datasets {sorted(unknown)}, expected some of {DATASETS}')
    return [MAKERS[name](root, seed=seed, force=force, log=log,
                         **(dict(num_classes=num_classes) if name in _SHAPES else {}))
            for name in which]
