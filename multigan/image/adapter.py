"""The image adapter: what real, fake, sample and the two losses mean for images.

This file is the reference adapter: the text and video adapters follow its shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import torch
from torch import nn
from torchvision.utils import save_image

from multigan.core.adapter import LossOutput, Networks, Phase, adversarial_phase
from multigan.core.errors import ConfigError
from multigan.core.losses import discriminator_objective, generator_loss
from multigan.image.augment import diff_augment
from multigan.image.config import ImageConfig
from multigan.image.data import TensorImages, load_images
from multigan.image.models import Discriminator, Generator
from multigan.image.pipeline import ImagePipeline, build_generator

ImageBatch = tuple[torch.Tensor, torch.Tensor]  # images in [-1, 1] (B, C, H, W), labels (B,)


class ImageAdapter:
    def __init__(self, cfg: ImageConfig, data: TensorImages | None = None) -> None:
        self.cfg = cfg
        self.data = data if data is not None else load_images(cfg.data)
        self.num_classes = self.data.num_classes if cfg.model.conditional else 0
        m = cfg.model
        if m.num_classes and m.num_classes != self.num_classes:
            raise ConfigError(f"model.num_classes: the data has {self.num_classes} classes, not {m.num_classes}")
        # resolved into the run's config.yaml, so that sampling needs no data
        cfg.data.channels, m.num_classes = self.data.channels, self.num_classes

    # -- models and data
    def build_models(self) -> Networks:
        G = build_generator(self.cfg)  # data.channels and model.num_classes were resolved in __init__
        D = Discriminator(self.cfg)
        return Networks(G, D)

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
        train = self.cfg.train
        return [adversarial_phase(train.steps, train.n_critic, self.discriminator_loss, self.generator_loss)]

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
    def pipeline(self, G: nn.Module) -> ImagePipeline:
        return ImagePipeline(self.cfg, cast(Generator, G))

    def sample(self, G: nn.Module, n: int, *, seed: int, condition: int | None = None) -> torch.Tensor:
        """n images in [-1, 1]; `condition` is a class index (conditional runs) or None for all classes."""
        return self.pipeline(G).sample(n, seed=seed, label=condition)

    def write_samples(self, samples: torch.Tensor, out_dir: Path, step: int) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        save_image_grid(samples, out_dir / f"step_{step:08d}.png")


def save_image_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> None:
    nrow = nrow or max(1, int(images.shape[0] ** 0.5))
    save_image(images.add(1).div(2).clamp(0, 1), path, nrow=nrow, padding=2)
