"""Image data: the embedded handwritten digits, any image folder, torchvision datasets by name.

Every dataset yields (uint8 tensor (C, H, W), label int); conversion to [-1, 1] floats happens on
the training device.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from multigan.core.data import folder_labels
from multigan.core.digits import digit_images
from multigan.core.errors import ConfigError, MultiganError, warn_skipped
from multigan.image.config import ImageDataConfig
from multigan.io.image import IMAGE_EXTENSIONS, list_images, read_images


class TensorImages(Dataset):
    """Images held in memory as uint8 (N, C, H, W) with integer labels (N,)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, class_names: list[str], skipped: int = 0):
        self.images, self.labels, self.class_names, self.skipped = images, labels, class_names, skipped

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def load_digits_images(size: int = 32) -> TensorImages:
    """The 1,797 8x8 handwritten digits that scikit-learn ships, upscaled to size x size."""
    images, labels = digit_images(size)
    return TensorImages(images, labels, [str(i) for i in range(10)])


def load_image_folder(root: str | Path, size: int, channels: int = 3) -> TensorImages:
    """Every image under `root` (recursive), centre-cropped and resized; labels from the first-level
    sub-folder names (ImageFolder's convention; one class when the images sit directly in `root`).
    Files that cannot be decoded, or that trip Pillow's decompression-bomb check, are skipped with a
    warning and counted."""
    root = Path(root)
    if not root.is_dir():
        raise MultiganError(f"data.path: {root} is not a folder")
    files = list_images(root)
    if not files:
        raise MultiganError(f"data.path: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {root}")
    class_names, file_labels = folder_labels(root, files)
    images, skipped = read_images(files, size, channels)
    bad = {path for path, _ in skipped}
    labels = [label for p, label in zip(files, file_labels) if str(p) not in bad]
    warn_skipped(skipped, "images")
    if not images:
        raise MultiganError(f"data.path: none of the {len(files)} images under {root} could be decoded")
    tensor = torch.stack(images).permute(0, 3, 1, 2).contiguous()
    return TensorImages(tensor, torch.tensor(labels), class_names, len(skipped))


def load_torchvision(name: str, root: str, size: int, channels: int) -> TensorImages:
    """A torchvision dataset by class name (e.g. CIFAR10, MNIST); downloads, so it needs a network."""
    import torchvision

    cls = getattr(torchvision.datasets, name, None)
    if cls is None:
        raise MultiganError(f"data.path: torchvision has no dataset {name!r}")
    try:
        try:
            ds = cls(root=root, train=True, download=True)  # MNIST, FashionMNIST, CIFAR10, CIFAR100, ...
        except TypeError:  # SVHN, STL10, CelebA, Flowers102, ... name their training split instead
            ds = cls(root=root, split="train", download=True)
    except Exception as err:  # network or disk trouble: one line for the user
        raise MultiganError(f"data.path: could not load torchvision {name}: {err}") from None
    mode = {1: "L", 3: "RGB"}[channels]
    images, labels = [], []
    for img, label in tqdm(ds, desc=f"reading {name}", unit="img", disable=None, leave=False):
        img = img.convert(mode).resize((size, size), Image.Resampling.BICUBIC)
        arr = np.asarray(img, dtype=np.uint8)
        images.append(arr[:, :, None] if arr.ndim == 2 else arr)
        # A class index when the target is one; attribute vectors and the like make a single class.
        labels.append(int(label) if np.ndim(label) == 0 and not isinstance(label, str) else 0)
    tensor = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    names = list(getattr(ds, "classes", [])) or [str(i) for i in range(max(labels) + 1)]
    return TensorImages(tensor, torch.tensor(labels), names)


def describe_images(cfg: ImageDataConfig) -> str:
    """What load_images(cfg) holds, in words (for an evaluation's protocol): a run's training images."""
    if cfg.path == "":
        return f"the run's training images: all 1,797 embedded digits (scikit-learn load_digits), {cfg.size}x{cfg.size}"
    if cfg.path.startswith("torchvision:"):
        name = cfg.path.split(":", 1)[1]
        return f"the run's training images: the training split of torchvision {name}, {cfg.size}x{cfg.size}"
    return f"the run's training images: every readable image under {cfg.path}, {cfg.size}x{cfg.size}"


def load_images(cfg: ImageDataConfig) -> TensorImages:
    if cfg.path == "":
        if cfg.channels == 3:
            raise ConfigError("data.channels: the embedded digits have 1 channel")
        return load_digits_images(cfg.size)
    channels = cfg.channels or 3
    if cfg.path.startswith("torchvision:"):
        return load_torchvision(cfg.path.split(":", 1)[1], cfg.root, cfg.size, channels)
    return load_image_folder(cfg.path, cfg.size, channels)
