# FishNet-201 "welltrained" (fishnet201_ckpt_welltrain.tar, 79.71 top-1): FishNet-201 with the
# recipe of fishnet150-welltrained_8xb32_in1k.py (200 epochs, cosine lr, label smoothing).
# The file's first tail shortcut is a bare 1x1 conv; the converter fills the BN before it as an
# identity, exact in eval mode (docs/converters.md): fine-tune with norm_eval=True to keep it so.
_base_ = './fishnet150-welltrained_8xb32_in1k.py'

model = dict(backbone=dict(depth=201))
