# Res2NeXt-50: Res2Net-50 with grouped split convolutions (8 groups of 4 channels, 4 scales).
_base_ = './res2net50-w26-s4_8xb32_in1k.py'
model = dict(backbone=dict(scales=4, base_width=4, groups=8))
# checkpoints are written to a temporary file and renamed when complete, so a killed job
# never leaves a half-written one (mmfish/engine/checkpoint.py)
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
