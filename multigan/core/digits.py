"""The 1,797 handwritten 8x8 digits that scikit-learn ships: the embedded default data of the image
and video recipes and the training set of the toolkit's digit classifier (multigan.metrics.image).
Shared here so that no modality imports another."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def raw_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """(images (1797, 8, 8) float32 in [0, 1], labels (1797,) int64)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return torch.from_numpy(digits.images.astype(np.float32) / 16.0), torch.from_numpy(digits.target.astype(np.int64))


def digit_images(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (1797, 1, size, size) uint8, labels): bilinear upscaling, rounded."""
    raw, labels = raw_digits()
    x = F.interpolate(raw.unsqueeze(1), size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return (x * 255).round().to(torch.uint8), labels
