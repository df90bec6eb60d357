"""Image files in: decoded with Pillow, cut to a centred square and resized (bicubic) to size x size.

The image and translate recipes' folders and the video recipe's seed frames are read through here.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from multigan.core.errors import MultiganError

MODES = {1: "L", 3: "RGB"}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class ImageDecodeError(MultiganError):
    """A file that is not an image Pillow can decode, or one over Pillow's pixel limit.
    args: (the one-line message, the bare reason for skip warnings)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _square(img: Image.Image, size: int, channels: int) -> torch.Tensor:
    img = img.convert(MODES[channels])
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy((arr[:, :, None] if arr.ndim == 2 else arr).copy())


def _decode(path: str | os.PathLike, what: str, convert: Callable[[Image.Image], torch.Tensor]) -> torch.Tensor:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return convert(img)
    except UnidentifiedImageError:
        reason = "not an image Pillow can decode"
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        reason = "too many pixels (Pillow's decompression-bomb limit)"
    except (OSError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    raise ImageDecodeError(f"cannot read {what} {os.fspath(path)!r}: {reason}", reason)


def read_image(path: str | os.PathLike, size: int, channels: int, *, what: str = "image") -> torch.Tensor:
    """uint8 (size, size, channels); a file that cannot be read raises ImageDecodeError in one line."""
    return _decode(path, what, lambda img: _square(img, size, channels))


def _scaled(img: Image.Image, short_side: int, multiple: int) -> torch.Tensor:
    img = img.convert("RGB")
    w, h = img.size
    scale = short_side / min(w, h)
    sw, sh = max(multiple, round(w * scale)), max(multiple, round(h * scale))
    img = img.resize((sw, sh), Image.Resampling.BICUBIC)
    cw, ch = sw - sw % multiple, sh - sh % multiple
    left, top = (sw - cw) // 2, (sh - ch) // 2
    return torch.from_numpy(np.asarray(img.crop((left, top, left + cw, top + ch)), dtype=np.uint8).copy())


def read_image_scaled(path: str | os.PathLike, short_side: int, *, multiple: int = 4) -> torch.Tensor:
    """uint8 (H, W, 3) with the aspect kept: the short side scaled to `short_side` (bicubic), then each
    side cut (centred) to a multiple of `multiple`; an unreadable file raises ImageDecodeError in one line."""
    return _decode(path, "image", lambda img: _scaled(img, short_side, multiple))


def fit_image(array: np.ndarray, size: int, channels: int) -> torch.Tensor:
    """A uint8 (H, W, C) array -> uint8 (size, size, channels), cut and resized as files are."""
    if array.shape[-1] == 1:
        array = array[:, :, 0]
    return _square(Image.fromarray(array), size, channels)


def list_images(root: Path) -> list[Path]:
    """Every file under `root` (recursive) with an image extension, sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def read_images(files: Sequence[Path], size: int, channels: int) -> tuple[list[torch.Tensor], list[tuple[str, str]]]:
    """(the files that decode, as uint8 (size, size, channels) in order; (path, reason) for the others)."""
    images, skipped = [], []
    for path in tqdm(files, desc="reading images", unit="img", disable=None, leave=False):
        try:
            images.append(read_image(path, size, channels))
        except ImageDecodeError as err:
            skipped.append((str(path), err.args[1]))
    return images, skipped
