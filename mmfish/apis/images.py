"""The images an inferencer is given, checked before any model runs.

An input is an image file (any format OpenCV decodes) or an HxWx3 uint8 BGR array. Its size
is bounded before anything decodes it, as Pillow bounds decompression bombs: a file's width
and height come from its header (Pillow reads the header alone; a file Pillow does not know
is decoded by OpenCV, as the inferencer would, and checked after):

- at most :data:`MAX_IMAGE_PIXELS` pixels (``$MMFISH_MAX_IMAGE_PIXELS``): the visualizers draw
  at the image's full size, at a cost that grows with its pixels (a 20000x20000 PNG of 1 MB
  took 4.47 GiB before a MemoryError; at 4096x4096 the MMSegmentation demo twin took 57 s on
  two cores, most of it in its visualizer, and 5.3 GiB);
- sides of at least :data:`MIN_IMAGE_SIDE` pixels: an empty image (0xN) fails inside the
  toolboxes' resizing with a raw ZeroDivisionError or OpenCV error, a 1x1 image in
  MMSegmentation's visualizer (IndexError); 2x2 runs in all four toolboxes;
- a long side at most :data:`MAX_ASPECT_RATIO` times the short one
  (``$MMFISH_MAX_IMAGE_ASPECT``): an image 2000 wide and 2 high fails in MMDetection's and
  MMSegmentation's resizing (an OpenCV assertion: the short side is scaled to nothing), and
  pipelines that resize the short side (MMPretrain's ``ResizeEdge`` to 256 pixels) scale the
  long one by the same factor, so a 1x20000 image becomes 256x5,120,000 pixels; 32 keeps
  that at 256x8192.

Each refusal is a ValueError naming the input's index, its size, the valid range and the
environment variable that sets it.
"""
import os
import os.path as osp
import warnings
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from ..checkpoint.io import not_a_file

#: the most pixels (width x height) of an input image, unless ``$MMFISH_MAX_IMAGE_PIXELS``
#: says otherwise: 4096 x 4096 (a 12-megapixel photo passes)
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_PIXELS_ENV = 'MMFISH_MAX_IMAGE_PIXELS'
#: the most an image's long side may exceed its short one, as a factor, unless
#: ``$MMFISH_MAX_IMAGE_ASPECT`` says otherwise
MAX_ASPECT_RATIO = 32
MAX_ASPECT_ENV = 'MMFISH_MAX_IMAGE_ASPECT'
#: the fewest pixels of an image's side
MIN_IMAGE_SIDE = 2

ImageInput = Union[str, Path, np.ndarray]


def _env_bound(name: str, default: int, unit: str) -> int:
    """The whole number > 0 in ``$name``, or ``default`` where it is unset or empty."""
    text = os.environ.get(name, '').strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f'{name}={text!r} is invalid: give a whole number of {unit} > 0, '
                         f'e.g. {name}={default}')
    return value


def max_image_pixels() -> int:
    """``$MMFISH_MAX_IMAGE_PIXELS``, else :data:`MAX_IMAGE_PIXELS`."""
    return _env_bound(MAX_PIXELS_ENV, MAX_IMAGE_PIXELS, 'pixels')


def max_aspect_ratio() -> int:
    """``$MMFISH_MAX_IMAGE_ASPECT``, else :data:`MAX_ASPECT_RATIO`."""
    return _env_bound(MAX_ASPECT_ENV, MAX_ASPECT_RATIO, 'times')


def check_image_size(width: int, height: int, index: int, what: str = '') -> None:
    """Refuse a ``width`` x ``height`` image (input ``index``, ``what`` it is, e.g. its path)
    that is empty, has a side under :data:`MIN_IMAGE_SIDE` pixels, more pixels than
    :func:`max_image_pixels` or sides more unequal than :func:`max_aspect_ratio`, with a
    ValueError saying which and what is valid."""
    head = f'input {index}: {what + " is " if what else ""}{width}x{height} pixels (width x height)'
    if min(width, height) < MIN_IMAGE_SIDE:
        raise ValueError(f'{head}: {"an empty image" if not width * height else "too small"}; '
                         f'each side must be at least {MIN_IMAGE_SIDE} pixels')
    limit = max_image_pixels()
    if width * height > limit:
        raise ValueError(f'{head}, {width * height:,} pixels, more than the {limit:,} allowed '
                         f'(${MAX_PIXELS_ENV}, by default {MAX_IMAGE_PIXELS:,} = 4096x4096): '
                         f'downscale the image, or set {MAX_PIXELS_ENV} higher if this machine '
                         'has the memory to draw it')
    ratio = max_aspect_ratio()
    if max(width, height) > ratio * min(width, height):
        raise ValueError(f'{head}: its long side is {max(width, height) / min(width, height):.1f} '
                         f'times its short one, more than the {ratio} allowed '
                         f'(${MAX_ASPECT_ENV}, by default {MAX_ASPECT_RATIO}): crop it into '
                         f'pieces, or set {MAX_ASPECT_ENV} higher')


def header_size(path: str) -> Optional[Tuple[int, int]]:
    """(width, height) of the image file ``path`` from its header, without decoding its
    pixels (Pillow opens files lazily), whatever Pillow's own decompression-bomb limit; None
    for a file Pillow does not read."""
    from PIL import Image
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                return image.size
        except Image.DecompressionBombError:
            pass  # over Pillow's limit: its header, read without the limit, below
        except Exception:  # not a format Pillow reads (or a damaged file): OpenCV decides
            return None
    return _unbounded_header_size(path)


def _unbounded_header_size(path: str) -> Optional[Tuple[int, int]]:
    """The size from the header as ``Image.open`` reads it, without its decompression-bomb
    check (which refuses before saying the size). Each of Pillow's formats that accepts the
    file's first bytes tries to read its header, as ``Image.open`` does."""
    from PIL import Image
    Image.init()
    with open(path, 'rb') as fp:
        prefix = fp.read(16)
        for name in Image.ID:
            factory, accept = Image.OPEN[name]
            accepted = accept is None or accept(prefix)
            if not accepted or isinstance(accepted, str):  # a string: refused, with a reason
                continue
            fp.seek(0)
            try:
                image = factory(fp, path)
            except Exception:  # this format's reader does not take it
                continue
            return image.size
    return None


def check_image(image: ImageInput, index: int) -> ImageInput:
    """``image`` if an inferencer can read it and its size is within the bounds
    (:func:`check_image_size`): a path to an image file OpenCV decodes, or an HxWx3 uint8 BGR
    array; else FileNotFoundError (nothing there) or ValueError saying why."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f'input {index}: an array of shape {image.shape} and dtype '
                             f'{image.dtype}; an image array is HxWx3, uint8, BGR')
        check_image_size(image.shape[1], image.shape[0], index, 'an array')
        return image
    if not isinstance(image, (str, Path)):
        raise ValueError(f'input {index}: a {type(image).__name__}; give an image file path or '
                         'an HxWx3 uint8 BGR array')
    path = osp.expanduser(str(image))
    if not osp.exists(path):
        broken = ' (a broken link)' if osp.islink(path) else ''
        raise FileNotFoundError(f'input {index}: {path}: no such image file{broken}')
    if not osp.isfile(path):
        raise ValueError(f'input {index}: {path} is {not_a_file(path)}, not an image file')
    size = header_size(path)
    if size is not None:
        check_image_size(*size, index, path)
    import mmcv
    try:
        decoded = mmcv.imread(path)
    except Exception as exc:  # a file mmcv cannot decode
        raise ValueError(f'input {index}: {path} is not a readable image ({exc})') from exc
    if decoded is None:
        raise ValueError(f'input {index}: {path} is not a readable image (OpenCV decodes '
                         'JPEG, PNG, BMP, ... files)')
    check_image_size(decoded.shape[1], decoded.shape[0], index, path)
    return path


__all__ = ['MAX_ASPECT_ENV', 'MAX_ASPECT_RATIO', 'MAX_IMAGE_PIXELS', 'MAX_PIXELS_ENV',
           'MIN_IMAGE_SIDE', 'check_image', 'check_image_size', 'header_size',
           'max_aspect_ratio', 'max_image_pixels']
