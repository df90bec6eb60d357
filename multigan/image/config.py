"""The image recipe's config: `data.*`, `model.*`, and the shared `train.*` and `loss.*` keys."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from multigan.core.config import LossConfig, RunConfig, TrainConfig, check_choice
from multigan.core.errors import ConfigError
from multigan.image.augment import diff_augment

NORMS = ("batch", "layer", "none")


def check_size(size: int) -> int:
    """Number of 2x up/down-sampling blocks between 4x4 and `size`."""
    blocks = int(math.log2(size)) - 2
    if size < 16 or size > 128 or 2 ** (blocks + 2) != size:
        raise ValueError(f"data.size: must be a power of two between 16 and 128, got {size}")
    return blocks


@dataclass
class ImageDataConfig:
    path: str = ""  # "": the embedded digits; a folder of images; "torchvision:NAME" (downloads)
    size: int = 32
    channels: int = 0  # 0: 1 for the digits, 3 otherwise
    root: str = "data"  # where torchvision datasets are downloaded

    def __post_init__(self) -> None:
        try:
            check_size(self.size)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        if self.channels not in (0, 1, 3):
            raise ConfigError(f"data.channels: must be 0 (auto), 1 or 3, got {self.channels}")


@dataclass
class ImageModelConfig:
    z_dim: int = 64
    g_width: int = 16  # channels of G's last block; doubles per block towards 4x4
    d_width: int = 16  # channels of D's first block; doubles per block towards 4x4
    g_norm: str = "batch"  # batch | layer | none
    d_norm: str = "none"  # batch | layer | none
    spectral_norm: bool = True  # on D
    dropout: float = 0.0  # in D
    conditional: bool = False  # class-conditional G and projection D
    num_classes: int = 0  # 0: from the data (conditional runs); the run's config.yaml records it
    diffaugment: str = ""  # e.g. "color,translation,cutout"

    def __post_init__(self) -> None:
        check_choice("model.g_norm", self.g_norm, NORMS)
        if self.num_classes < 0 or (self.num_classes and not self.conditional):
            raise ConfigError("model.num_classes: set by a conditional run from its data (keep it 0)")
        check_choice("model.d_norm", self.d_norm, NORMS)
        try:
            diff_augment(torch.zeros(1, 1, 8, 8), self.diffaugment)
        except ValueError as err:
            raise ConfigError(str(err)) from None


@dataclass
class ImageConfig(RunConfig):
    modality: ClassVar[str] = "image"
    out_dir: str = "runs/image"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: ImageModelConfig = field(default_factory=ImageModelConfig)
    train: TrainConfig = field(
        # Sized for about 10 minutes on 2 CPU cores (docs/IMAGE.md). The EMA's half-life (~140 steps at
        # 0.995) must be short next to the run, or the samples still hold the random initial weights.
        default_factory=lambda: TrainConfig(
            steps=2000, batch_size=64, ema_decay=0.995, sample_every=500, checkpoint_every=500
        )
    )
    loss: LossConfig = field(default_factory=LossConfig)
