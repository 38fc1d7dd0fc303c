"""``mmfish://<name>``: a released or trained model's weights in one line of a config. The
public names of :mod:`mmfish.weights.hub`, which implements them."""
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

__all__ = ['SCHEME', 'DownloadError', 'converted_path', 'load_from_mmfish', 'register_scheme',
           'released_variants', 'resolve', 'trained_models']
