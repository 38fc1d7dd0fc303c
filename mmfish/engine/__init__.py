"""Training-runtime pieces for MMEngine, named in configs with the ``mmfish.`` scope.

Restartable runs: checkpoints that are never half-written (:class:`AtomicCheckpointHook`) and
random numbers that a resumed run draws exactly as the uninterrupted run would have
(:class:`StepSeedHook`). Distributed training on CPUs with ``gloo``: a SyncBN that synchronises
CPU tensors (:class:`SyncBatchNorm`, ``mmfish.SyncBN``) and logs averaged over the ranks
(:class:`RankAverageLogHook`). The hooks are in :data:`mmfish.registry.HOOKS`, the layer in
:data:`mmfish.registry.MODELS`. ``load_from`` and ``--resume`` end with a summary of what was
loaded into the backbone, and refuse a file that holds no weights of the model or leaves
weights of the backbone at their initial values (:mod:`.load_report`, applied by
``import mmfish``; ``load_from_partial = True`` lets a deliberate partial ``load_from`` go on).
"""
from .checkpoint import AtomicCheckpointHook, publish_file, write_text_atomic
from .distributed import RankAverageLogHook, SyncBatchNorm
from .load_report import NoModelWeightsError, PartialLoadError
from .randomness import StepSeedHook, reseed, step_seed

__all__ = ['AtomicCheckpointHook', 'NoModelWeightsError', 'PartialLoadError', 'RankAverageLogHook',
           'StepSeedHook', 'SyncBatchNorm', 'publish_file', 'reseed', 'step_seed',
           'write_text_atomic']
