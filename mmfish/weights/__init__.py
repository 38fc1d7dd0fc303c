"""Getting weights into models: conversion, its decisions, the ``mmfish://`` hub and the load
report. This package sits above the families (:mod:`mmfish.families`) and below the user-facing
tools; the files themselves are read and written by :mod:`mmfish.checkpoint`, which imports no
model.

- :mod:`.conversion`: ``convert_checkpoint(family, src, dst)`` reads a released checkpoint in
  any known layout, detects the variant from the weights' shapes, checks every key against the
  model it describes and writes ``{'meta': ..., 'state_dict': ...}`` atomically, with
  ``backbone.``, ``neck.`` and ``head.`` keys as an mmpretrain ``ImageClassifier`` of the
  variant's in1k config expects. Nothing is written when anything does not fit.
- :mod:`.decide`: the decisions a layout cannot make alone (a weight layout that fits two
  variants, a DCN type), refused with the candidates and the flag that picks one.
- :mod:`.cli`: ``python -m mmfish.convert SRC DST [--family NAME]``.
- :mod:`.hub`: ``mmfish://<name>``, a released or trained model's weights in one line of a
  config (fetched, verified, converted and cached).
- :mod:`.load_report`: what ``load_from`` and ``--resume`` loaded into the backbone, and the
  stop on a partial load.

Each family is a :class:`~mmfish.core.family.Family` declared and registered
(:func:`~mmfish.core.family.register_family`) in its package under :mod:`mmfish.families`,
which ``import mmfish`` imports.
"""
from ..checkpoint.io import ConversionError
from ..core.family import FAMILIES, Family, register_family, unregister_family
from .cli import main
from .conversion import convert_checkpoint, detect_family, find_variant
from .hub import SCHEME, DownloadError, converted_path, resolve
from .load_report import NoModelWeightsError, PartialLoadError

__all__ = ['ConversionError', 'DownloadError', 'FAMILIES', 'Family', 'NoModelWeightsError',
           'PartialLoadError', 'SCHEME', 'convert_checkpoint', 'converted_path', 'detect_family',
           'find_variant', 'main', 'register_family', 'resolve', 'unregister_family']
