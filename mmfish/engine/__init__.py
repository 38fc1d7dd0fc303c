"""Training-runtime pieces for MMEngine, named in configs with the ``mmfish.`` scope.

Restartable runs: checkpoints that are never half-written (:class:`AtomicCheckpointHook`) and
random numbers that a resumed run draws exactly as the uninterrupted run would have
(:class:`StepSeedHook`). Distributed training on CPUs with ``gloo``: a SyncBN that synchronises
CPU tensors (:class:`SyncBatchNorm`, ``mmfish.SyncBN``) and logs averaged over the ranks
(:class:`RankAverageLogHook`). The hooks are in :data:`mmfish.registry.HOOKS`, the layer in
:data:`mmfish.registry.MODELS`. What ``load_from`` and ``--resume`` loaded is reported by
:mod:`mmfish.weights.load_report`.
"""
from .atomic_checkpoint import AtomicCheckpointHook, publish_file, write_text_atomic
from .distributed import RankAverageLogHook, SyncBatchNorm
from .randomness import StepSeedHook, reseed, step_seed

__all__ = ['AtomicCheckpointHook', 'RankAverageLogHook',
           'StepSeedHook', 'SyncBatchNorm', 'publish_file', 'reseed', 'step_seed',
           'write_text_atomic']
