# mmdet's own Res2Net-101 HTC config (with the semantic branch) with mmfish's Res2Net.
_base_ = [
    'mmdet::res2net/htc_res2net-101_fpn_20e_coco.py',
    '../_base_/res2net101-v1b.py',
]
model = dict(backbone={{_base_.backbone}})
default_hooks = dict(checkpoint=dict(type='mmfish.AtomicCheckpointHook'))
