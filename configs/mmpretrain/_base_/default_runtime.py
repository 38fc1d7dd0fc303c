# mmpretrain's runtime with mmfish imported (../../_base_/mmfish.py) and checkpoints saved
# atomically (mmfish/engine/checkpoint.py), at mmpretrain's interval.
_base_ = ['mmpretrain::_base_/default_runtime.py', '../../_base_/mmfish.py']
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
