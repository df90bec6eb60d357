"""Image files in: decoded with Pillow, cut to a centred square and resized (bicubic) to size x size.

The image recipe's folders and the video recipe's seed frames are read through here.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from multigan.core.errors import MultiganError

MODES = {1: "L", 3: "RGB"}


class ImageDecodeError(MultiganError):
    """A file that is not an image Pillow can decode, or one over Pillow's pixel limit."""


def _square(img: Image.Image, size: int, channels: int) -> torch.Tensor:
    img = img.convert(MODES[channels])
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy((arr[:, :, None] if arr.ndim == 2 else arr).copy())


def read_image(path: str | os.PathLike, size: int, channels: int, *, what: str = "image") -> torch.Tensor:
    """uint8 (size, size, channels); a file that cannot be read raises ImageDecodeError in one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return _square(img, size, channels)
    except UnidentifiedImageError:
        reason = "not an image Pillow can decode"
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        reason = "too many pixels (Pillow's decompression-bomb limit)"
    except (OSError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    raise ImageDecodeError(f"cannot read {what} {os.fspath(path)!r}: {reason}", reason)


def fit_image(array: np.ndarray, size: int, channels: int) -> torch.Tensor:
    """A uint8 (H, W, C) array -> uint8 (size, size, channels), cut and resized as files are."""
    if array.shape[-1] == 1:
        array = array[:, :, 0]
    return _square(Image.fromarray(array), size, channels)
