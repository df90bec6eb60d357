"""The image adapter: what real, fake, sample and the two losses mean for images.

This file is the reference adapter: the text and video adapters follow its shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.utils import save_image

from multigan.core.adapter import LossOutput, Phase
from multigan.core.config import LossConfig, RunConfig, TrainConfig, check_choice
from multigan.core.errors import ConfigError
from multigan.core.losses import discriminator_objective, generator_loss
from multigan.image.augment import diff_augment
from multigan.image.data import TensorImages, load_digits_images, load_image_folder, load_torchvision
from multigan.image.models import NORMS, Discriminator, Generator, check_size

ImageBatch = tuple[torch.Tensor, torch.Tensor]  # images in [-1, 1] (B, C, H, W), labels (B,)


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
    diffaugment: str = ""  # e.g. "color,translation,cutout"

    def __post_init__(self) -> None:
        check_choice("model.g_norm", self.g_norm, NORMS)
        check_choice("model.d_norm", self.d_norm, NORMS)
        try:
            diff_augment(torch.zeros(1, 1, 8, 8), self.diffaugment)
        except ValueError as err:
            raise ConfigError(str(err)) from None


@dataclass
class ImageConfig(RunConfig):
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


def load_images(cfg: ImageDataConfig) -> TensorImages:
    if cfg.path == "":
        if cfg.channels == 3:
            raise ConfigError("data.channels: the embedded digits have 1 channel")
        return load_digits_images(cfg.size)
    channels = cfg.channels or 3
    if cfg.path.startswith("torchvision:"):
        return load_torchvision(cfg.path.split(":", 1)[1], cfg.root, cfg.size, channels)
    return load_image_folder(cfg.path, cfg.size, channels)


class ImageAdapter:
    def __init__(self, cfg: ImageConfig, data: TensorImages | None = None) -> None:
        self.cfg = cfg
        self.data = data if data is not None else load_images(cfg.data)
        self.num_classes = self.data.num_classes if cfg.model.conditional else 0

    # -- models and data
    def build_models(self) -> tuple[nn.Module, nn.Module]:
        m, size, ch = self.cfg.model, self.cfg.data.size, self.data.channels
        G = Generator(size, ch, m.z_dim, m.g_width, self.num_classes, m.g_norm)
        D = Discriminator(size, ch, m.d_width, self.num_classes, m.d_norm, m.spectral_norm, m.dropout)
        return G, D

    def dataset(self) -> TensorImages:
        return self.data

    def collate(self, items: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])

    def to_device(self, batch: tuple[torch.Tensor, torch.Tensor], device: torch.device) -> ImageBatch:
        images, labels = batch
        images = images.to(device, non_blocking=True).float().div_(127.5).sub_(1.0)
        if self.cfg.train.channels_last and device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        return images, labels.to(device, non_blocking=True)

    def phases(self, G: nn.Module, D: nn.Module) -> list[Phase]:
        return [
            Phase(
                "adversarial",
                self.cfg.train.steps,
                d_loss=self.discriminator_loss,
                g_loss=self.generator_loss,
                d_steps=self.cfg.train.n_critic,
            )
        ]

    # -- losses
    def _labels(self, labels: torch.Tensor) -> torch.Tensor | None:
        return labels if self.num_classes else None

    def _latents(self, n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.cfg.model.z_dim, device=device, generator=generator)

    def discriminator_loss(self, G: nn.Module, D: nn.Module, batch: ImageBatch, *, regularize: bool) -> LossOutput:
        real, labels = batch
        y = self._labels(labels)
        with torch.no_grad():
            fake = G(self._latents(real.shape[0], real.device), y)
        policy = self.cfg.model.diffaugment
        return discriminator_objective(
            self.cfg.loss, lambda x: D(diff_augment(x, policy), y), real, fake, regularize=regularize
        )

    def generator_loss(self, G: nn.Module, D: nn.Module, batch: ImageBatch) -> LossOutput:
        real, labels = batch
        y = self._labels(labels)
        fake = G(self._latents(real.shape[0], real.device), y)
        loss = generator_loss(self.cfg.loss.kind, D(diff_augment(fake, self.cfg.model.diffaugment), y))
        return LossOutput(loss, {"g_loss": loss.detach()})

    # -- sampling
    def sample_labels(self, n: int, class_index: int | None = None) -> torch.Tensor | None:
        if not self.num_classes:
            if class_index is not None:
                raise ConfigError("--class needs a class-conditional run (model.conditional=true)")
            return None
        if class_index is not None:
            if not 0 <= class_index < self.num_classes:
                raise ConfigError(f"--class: must be in 0..{self.num_classes - 1}, got {class_index}")
            return torch.full((n,), class_index, dtype=torch.long)
        return torch.arange(n) % self.num_classes

    @torch.no_grad()
    def sample(self, G: nn.Module, n: int, *, seed: int, condition: Any = None) -> torch.Tensor:
        """n images in [-1, 1]; `condition` is a class index (conditional runs) or None for all classes."""
        device = next(G.parameters()).device
        generator = torch.Generator(device).manual_seed(seed)
        labels = self.sample_labels(n, condition)
        z = self._latents(n, device, generator)
        return G(z, labels.to(device) if labels is not None else None).float().cpu()

    @torch.no_grad()
    def interpolate(self, G: nn.Module, steps: int, *, seed: int, condition: Any = None) -> torch.Tensor:
        """A strip of `steps` images blending two latents along the great circle between them."""
        device = next(G.parameters()).device
        generator = torch.Generator(device).manual_seed(seed)
        a, b = self._latents(2, device, generator)
        t = torch.linspace(0, 1, steps, device=device).unsqueeze(1)
        omega = torch.arccos((a / a.norm() * b / b.norm()).sum().clamp(-1, 1))
        if omega.abs() < 1e-4:
            z = (1 - t) * a + t * b
        else:
            z = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
        labels = self.sample_labels(steps, condition)
        return G(z, labels.to(device) if labels is not None else None).float().cpu()

    def write_samples(self, samples: torch.Tensor, out_dir: Path, step: int) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        save_image_grid(samples, out_dir / f"step_{step:08d}.png")


def save_image_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> None:
    nrow = nrow or max(1, int(images.shape[0] ** 0.5))
    save_image(images.add(1).div(2).clamp(0, 1), path, nrow=nrow, padding=2)
