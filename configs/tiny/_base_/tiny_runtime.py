# What makes every tiny twin reproducible and restartable: a fixed seed, deterministic kernels,
# random numbers reseeded per iteration (a run resumed with --resume ends with the same weights
# as an uninterrupted one) and, when distributed, losses logged as averages over the ranks
# (mmfish/engine/, docs/training.md). Checkpoints are by iteration, the last one kept; they are
# written by the full config's mmfish.AtomicCheckpointHook, so never half-written.
# tiny_imagenet.py, tiny_coco.py, tiny_coco_panoptic.py, tiny_ade20k.py and tiny_coco_pose.py
# inherit this file and set the interval.
tiny_randomness = dict(seed=0, deterministic=True)
tiny_custom_hooks = [dict(type='mmfish.StepSeedHook'), dict(type='mmfish.RankAverageLogHook')]
tiny_default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(by_epoch=False, max_keep_ckpts=1))
