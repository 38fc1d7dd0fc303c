# What makes every tiny twin reproducible and restartable: a fixed seed, deterministic kernels,
# random numbers reseeded per iteration (a run resumed with --resume ends with the same weights
# as an uninterrupted one) and, when distributed, losses logged as averages over the ranks
# (mmfish/engine/, docs/training.md). Checkpoints are by iteration, the last one kept; they are
# written by the full config's mmfish.AtomicCheckpointHook, so never half-written.
#
# `tiny_overrides` holds the keys a twin sets over its full config. tiny_imagenet.py,
# tiny_coco.py (and through it tiny_coco_panoptic.py), tiny_ade20k.py and tiny_coco_pose.py
# inherit this file and add to it (MMEngine merges their `tiny_overrides` into this one) their
# data, input size, schedule, evaluation and checkpoint interval. A twin inherits its full config
# and one of them, and makes these keys its own with `globals().update(_base_.tiny_overrides)`:
# each is then merged into the full config's key of that name, as if the twin had written it.
tiny_overrides = dict(
    default_hooks=dict(
        logger=dict(type='LoggerHook', interval=10),
        checkpoint=dict(by_epoch=False, max_keep_ckpts=1)),
    custom_hooks=[dict(type='mmfish.StepSeedHook'), dict(type='mmfish.RankAverageLogHook')],
    randomness=dict(seed=0, deterministic=True))
