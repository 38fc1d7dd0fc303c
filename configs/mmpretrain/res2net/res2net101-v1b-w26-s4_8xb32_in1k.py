# Res2Net-v1b: deep stem (three 3x3 convs) and avg-down shortcuts (ResNet-D style).
_base_ = './res2net50-w26-s4_8xb32_in1k.py'
model = dict(backbone=dict(depth=101, deep_stem=True, avg_down=True))
# checkpoints are written to a temporary file and renamed when complete, so a killed job
# never leaves a half-written one (mmfish/engine/checkpoint.py)
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
