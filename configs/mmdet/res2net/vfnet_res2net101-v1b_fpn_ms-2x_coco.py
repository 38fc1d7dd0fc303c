# mmdet's own Res2Net-101 VarifocalNet config (shorter side 480-960, 2x) with mmfish's Res2Net.
_base_ = [
    'mmdet::vfnet/vfnet_res2net-101_fpn_ms-2x_coco.py',
    '../_base_/res2net101-v1b.py',
]
model = dict(backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
