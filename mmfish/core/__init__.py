"""What the backbone families share, below them: the registry of families
(:mod:`.family`), the backbones' contract (:mod:`.base`) and ResNet skeleton
(:mod:`.skeleton`), their layers (:mod:`.layers`), the argument checks (:mod:`.args`), the
strict ``Pretrained`` loading (:mod:`.pretrained`) and the key-mapping helpers of the
families' conversion rules (:mod:`.keymap`, :mod:`.resnet_keymap`). The core imports no
family: each family registers itself here."""
