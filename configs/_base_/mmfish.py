# What every mmfish config adds to its toolbox's config: `import mmfish`, which registers the
# backbones and hooks (scope 'mmfish') and lets MMEngine resume from its own checkpoints on
# torch >= 2.6 (mmfish/checkpoint/compat.py). Every config inherits it once, through a backbone
# piece (configs/{mmdet,mmseg}/_base_/) or configs/mmpretrain/_base_/default_runtime.py.
# The atomic checkpoint hook cannot be set here: this file comes in next to toolbox configs that
# already define default_hooks (docs/downstream.md, "How the configs are layered").
custom_imports = dict(imports=['mmfish'], allow_failed_imports=False)
