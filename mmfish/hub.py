"""``mmfish://<name>``: a released or trained model's weights in one line of a config. The
public names of :mod:`mmfish.weights.hub`, which implements them, and the command line
``python -m mmfish.hub list|fetch|add|verify|where`` (:mod:`mmfish.weights.hub_cli`)."""
from .weights.hub import (
    SCHEME,
    DownloadError,
    converted_path,
    load_from_mmfish,
    register_scheme,
    released_variants,
    resolve,
    trained_models,
)


def main(argv=None) -> int:
    """``python -m mmfish.hub``: the names, their sources and pins, and the cache."""
    from .weights.hub_cli import main as run
    return run(argv)


__all__ = ['SCHEME', 'DownloadError', 'converted_path', 'load_from_mmfish', 'main',
           'register_scheme', 'released_variants', 'resolve', 'trained_models']

if __name__ == '__main__':
    import sys
    sys.exit(main())
