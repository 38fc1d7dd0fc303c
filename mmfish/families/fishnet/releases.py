"""FishNet's published variants (the official README: parameters, top-1) and their released
files."""
from ...core.release import Benchmarked, Peer, Variant, with_urls

#: the download URL of each released file: the official checkpoints are on Dropbox (the
#: README's links, ``dl=1`` for the file itself) and publish no digest
DOWNLOADS = {
    'fishnet99_ckpt.tar': 'https://www.dropbox.com/s/hvojbdsad5ue7yb/fishnet99_ckpt.tar?dl=1',
    'fishnet150_ckpt.tar': 'https://www.dropbox.com/s/hjadcef18ln3o2v/fishnet150_ckpt.tar?dl=1',
    # the README's table "Models trained with cosine lr schedule (200 epochs) and label
    # smoothing" (kevin-ssy/FishNet b968f02)
    'fishnet150_ckpt_welltrained.tar':
        'https://www.dropbox.com/s/ajy9p6f97y45f1r/fishnet150_ckpt_welltrained.tar?dl=1',
    'fishnet201_ckpt_welltrain.tar':
        'https://www.dropbox.com/s/kvz2dmxe3fzn10m/fishnet201_ckpt_welltrain.tar?dl=1',
}

VARIANTS = with_urls([
    Variant('fishnet99', 'fishnet99', dict(type='FishNet', depth=99), 16.62, 77.41,
            files=('fishnet99_ckpt.tar', ), layout='official'),
    Variant('fishnet150', 'fishnet150', dict(type='FishNet', depth=150), 24.96, 78.14,
            files=('fishnet150_ckpt.tar', ), layout='official'),
    # the same FishNet-150, trained longer (200 epochs, cosine lr, label smoothing); its file
    # has the shapes of fishnet150_ckpt.tar and its own key layout, which the hub checks
    Variant('fishnet150-welltrained', 'fishnet150', dict(type='FishNet', depth=150), 24.96,
            79.35, files=('fishnet150_ckpt_welltrained.tar', ),
            layout='official-welltrained150'),
    # the README's 78.76 (first recipe) has no released file; only the welltrained one has
    Variant('fishnet201', 'fishnet201', dict(type='FishNet', depth=201), 44.58, 78.76),
    Variant('fishnet201-welltrained', 'fishnet201', dict(type='FishNet', depth=201), 44.58,
            79.71, files=('fishnet201_ckpt_welltrain.tar', ),
            layout='official-welltrained201'),
], DOWNLOADS.get)

#: registered backbones without released weights, shown beside the published variants
EXTRA_BACKBONES = {'fishnext150-32x4d': dict(type='FishNeXt', depth=150)}

#: the models tools/benchmark.py times against the authors' code (models/net_factory.py of
#: github.com/kevin-ssy/FishNet, given by --official-fishnet DIR)
BENCHMARKED = tuple(Benchmarked(f'fishnet{depth}', classifier=f'fishnet{depth}', peers=(
    Peer('official', f'fishnet{depth}', dict(module='models.net_factory')), ))
    for depth in (99, 150))

