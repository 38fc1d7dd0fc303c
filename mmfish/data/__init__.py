"""Synthetic datasets in the toolboxes' real on-disk formats (see :mod:`mmfish.data.tiny`)."""
from .tiny import (
                   CLASSES,
                   DATASETS,
                   FORMAT_VERSION,
                   HUES,
                   MARKER,
                   SHAPES,
                   TinyDataset,
                   ade20k_dataset_kwargs,
                   coco_dataset_kwargs,
                   imagenet_dataset_kwargs,
                   make_ade20k,
                   make_coco,
                   make_imagenet,
                   make_tiny_datasets,
                   polygon_area,
                   polygon_mask,
                   shape_polygon,
                   tiny_classes,
                   tiny_metainfo,
)

__all__ = [
    'CLASSES', 'DATASETS', 'FORMAT_VERSION', 'HUES', 'MARKER', 'SHAPES', 'TinyDataset',
    'ade20k_dataset_kwargs', 'coco_dataset_kwargs', 'imagenet_dataset_kwargs', 'make_ade20k',
    'make_coco', 'make_imagenet', 'make_tiny_datasets', 'polygon_area', 'polygon_mask',
    'shape_polygon', 'tiny_classes', 'tiny_metainfo'
]
