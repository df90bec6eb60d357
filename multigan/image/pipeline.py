"""A trained image generator, as `multigan.load` returns it: sampling needs no dataset.

    model = multigan.load("runs/image")
    images = model.generate(16, label=3, seed=0)  # uint8 (16, C, H, W)

The CLI's `generate` verb and the adapter's training-time samples draw through the same code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from multigan.core.errors import ConfigError
from multigan.core.export import export_folder, load_folder_config, load_generator
from multigan.core.runtime import resolve_device
from multigan.image.config import ImageConfig
from multigan.image.models import Generator


def build_generator(cfg: ImageConfig) -> Generator:
    """G for a config whose data.channels and model.num_classes are resolved (the run's config.yaml)."""
    return Generator(cfg)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> uint8, the same rounding as the PNGs the recipe writes."""
    return images.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Latents (len(t), z) along the great circle from a to b (straight where they are parallel)."""
    t = t.unsqueeze(1)
    omega = torch.arccos((a / a.norm() * b / b.norm()).sum().clamp(-1, 1))
    if omega.abs() < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


class ImagePipeline:
    modality = "image"

    def __init__(self, cfg: ImageConfig, G: Generator, source: Path | None = None) -> None:
        self.cfg, self.G, self.source = cfg, G.eval(), source

    @classmethod
    def from_folder(cls, folder: str | Path, device: str = "cpu", checkpoint: str | None = None) -> ImagePipeline:
        """A run folder (its newest intact checkpoint's EMA generator, or the one named
        `checkpoint`: `best`, `mle`, `step_XXXXXXXX`) or an exported folder."""
        cfg = load_folder_config(folder, ImageConfig)
        if cfg.data.channels == 0:  # runs written before the resolved values were saved
            raise ConfigError(
                f"{folder}: its config.yaml does not record data.channels (multigan 0.1 trained it); run train "
                "again with the same out_dir: it resumes and records them"
            )
        G = build_generator(cfg)
        load_generator(folder, G, checkpoint)
        return cls(cfg, G.to(resolve_device(device)), Path(folder))

    @property
    def num_classes(self) -> int:
        return self.G.num_classes

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    def labels(self, n: int, label: int | None = None) -> torch.Tensor | None:
        """The class of each of n samples: `label` for all, or every class in turn (None if unconditional)."""
        if not self.num_classes:
            if label is not None:
                raise ConfigError("--class needs a class-conditional run (model.conditional=true)")
            return None
        if label is not None:
            if not 0 <= label < self.num_classes:
                raise ConfigError(f"--class: must be in 0..{self.num_classes - 1}, got {label}")
            return torch.full((n,), label, dtype=torch.long)
        return torch.arange(n) % self.num_classes

    def _latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.cfg.model.z_dim, device=self.device, generator=generator)

    def _run(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.G(z, labels.to(self.device) if labels is not None else None).float().cpu()

    @torch.no_grad()
    def sample(self, n: int, *, seed: int = 0, label: int | None = None) -> torch.Tensor:
        """n images (n, C, H, W) in [-1, 1] on the CPU."""
        labels = self.labels(n, label)
        return self._run(self._latents(n, torch.Generator(self.device).manual_seed(seed)), labels)

    @torch.no_grad()
    def interpolate(self, steps: int, *, seed: int = 0, label: int | None = None) -> torch.Tensor:
        """A strip of `steps` images (in [-1, 1]) blending two latents along the great circle between them."""
        a, b = self._latents(2, torch.Generator(self.device).manual_seed(seed))
        t = torch.linspace(0, 1, steps, device=self.device)
        return self._run(slerp(a, b, t), self.labels(steps, label))

    @torch.no_grad()
    def between(self, seed_a: int, seed_b: int, t: float, *, label: int | None = None) -> torch.Tensor:
        """One image (1, C, H, W) in [-1, 1] a fraction t of the way (along the great circle) from the
        latent of `sample(1, seed=seed_a)` to that of `sample(1, seed=seed_b)`."""
        if not 0 <= t <= 1:
            raise ConfigError(f"t must be between 0 and 1, got {t}")
        a, b = (self._latents(1, torch.Generator(self.device).manual_seed(s))[0] for s in (seed_a, seed_b))
        return self._run(slerp(a, b, torch.tensor([t], device=self.device)), self.labels(1, label))

    def generate(self, num: int, label: int | None = None, seed: int = 0) -> torch.Tensor:
        """`num` images as uint8 (num, C, H, W); `label`: a class of a class-conditional run."""
        if num < 1:
            raise ConfigError("--num must be at least 1")
        return to_uint8(self.sample(num, seed=seed, label=label))

    def save_pretrained(self, directory: str | Path) -> Path:
        """A self-contained folder (config, weights, model card) that `multigan.load` reads."""
        if self.source is None:
            raise ConfigError("save_pretrained: this generator was not loaded from a folder")
        return export_folder(self.source, directory, self.cfg, self.G)
