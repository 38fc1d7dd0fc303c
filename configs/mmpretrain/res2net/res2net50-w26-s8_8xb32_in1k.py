_base_ = './res2net50-w26-s4_8xb32_in1k.py'
model = dict(backbone=dict(scales=8, base_width=26))
# checkpoints are written to a temporary file and renamed when complete, so a killed job
# never leaves a half-written one (mmfish/engine/checkpoint.py)
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
