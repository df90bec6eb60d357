"""A trained translator, as `multigan.load` returns it: translating needs no dataset.

    model = multigan.load("runs/translate")
    out = model.translate(images)                          # uint8 (n, 3, H, W) -> uint8, a -> b
    back = model.translate(out, direction="b2a")
    styled = model.translate(images, style=reference)     # mode=reference runs: the reference's style
    strip = model.translate(images, blend=[0, 0.5, 1])     # (n, 3 alphas, 3, H, W): feature-space blends

The CLI's `generate` verb and the training-time sample grids go through the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torchvision.utils import save_image

from multigan.core.errors import ConfigError
from multigan.core.export import export_folder, load_folder_config, load_generator
from multigan.core.runtime import resolve_device
from multigan.translate.config import TranslateConfig
from multigan.translate.data import Domains
from multigan.translate.models import Translator

DIRECTIONS = ("a2b", "b2a")


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (n, 1 or 3, H, W) -> float RGB in [-1, 1]."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ConfigError("images must be uint8 (n, 1 or 3, H, W)")
    x = images.float().div(127.5).sub(1.0)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> uint8, the rounding of the PNGs the recipe writes."""
    return images.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def save_rows(rows: Sequence[torch.Tensor], path: Path) -> None:
    """A grid with one row per tensor (each (n, 3, H, W) uint8, all of one size)."""
    save_image(torch.cat(list(rows)).float().div(255), path, nrow=rows[0].shape[0], padding=2)


class TranslatePipeline:
    modality = "translate"

    def __init__(
        self, cfg: TranslateConfig, G: Translator, source: Path | None = None, checkpoint: Path | None = None
    ) -> None:
        self.cfg, self.G, self.source = cfg, G.eval(), source
        self.checkpoint = checkpoint  # the checkpoint or weights file G was loaded from

    @classmethod
    def from_folder(cls, folder: str | Path, device: str = "cpu", checkpoint: str | None = None) -> TranslatePipeline:
        """A run folder (its newest intact checkpoint's EMA generator, or the one named
        `checkpoint`: `best`, `mle`, `step_XXXXXXXX`) or an exported folder."""
        cfg = load_folder_config(folder, TranslateConfig)
        G = Translator(cfg)
        loaded = load_generator(folder, G, checkpoint)
        return cls(cfg, G.to(resolve_device(device)), Path(folder), loaded)

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    @property
    def reference_guided(self) -> bool:
        return self.cfg.mode == "reference"

    @property
    def directions(self) -> tuple[str, ...]:
        """What the run learned: CUT (one-sided) learns a2b only."""
        return ("a2b",) if self.cfg.one_sided else DIRECTIONS

    def _codes(self, x: torch.Tensor, direction: str, style: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x's own code, the target code) for each row of x."""
        if direction not in self.directions:
            learned = " and ".join(self.directions)
            raise ConfigError(f"--direction: this run learned {learned} only, not {direction}")
        n, target = x.shape[0], 1 if direction == "a2b" else 0
        if self.reference_guided:
            if style is None:
                raise ConfigError("--style: this run is reference-guided (mode=reference); give a reference image")
            ref = to_float(style).to(self.device)
            if ref.shape[0] not in (1, n):
                raise ConfigError(f"--style: give 1 reference or one per image ({n}), not {ref.shape[0]}")
            return self.G.style_code(x), self.G.style_code(ref).expand(n, -1)
        if style is not None:
            raise ConfigError("--style needs a reference-guided run (train with mode=reference)")
        return self.G.domain_code(1 - target, n), self.G.domain_code(target, n)

    @torch.no_grad()
    def translate(
        self,
        images: torch.Tensor,
        direction: str = "a2b",
        style: torch.Tensor | None = None,
        blend: float | Sequence[float] | None = None,
    ) -> torch.Tensor:
        """Translate uint8 images (n, 1 or 3, H, W; H and W multiples of 4) into the other domain.

        `style`: uint8 reference image(s) of the target domain (1 or n; mode=reference runs).
        `blend`: alpha in [0, 1] mixes each image's reconstruction (0) with its translation (1) in
        the generator's feature space; a list of alphas returns (n, len(alphas), 3, H, W).
        """
        x = to_float(images).to(self.device)
        if x.shape[2] % 4 or x.shape[3] % 4:
            raise ConfigError(f"images must have sides that are multiples of 4, got {x.shape[2]}x{x.shape[3]}")
        own, target = self._codes(x, direction, style)
        if blend is None:
            return to_uint8(self.G(x, target).float().cpu())
        if self.cfg.one_sided:
            raise ConfigError("--blend needs a two-sided run: CUT (loss.cycle_weight=0) never learns to reconstruct")
        alphas = [float(blend)] if isinstance(blend, int | float) else [float(v) for v in blend]
        if not alphas or any(not 0 <= v <= 1 for v in alphas):
            raise ConfigError(f"--blend: every alpha must be between 0 and 1, got {alphas}")
        strip = []
        for alpha in alphas:
            t = torch.full((x.shape[0],), alpha, device=self.device)
            strip.append(to_uint8(self.G.blend(x, own, target, t).float().cpu()))
        return strip[0] if isinstance(blend, int | float) else torch.stack(strip, dim=1)

    def sample_rows(self, domains: Domains, n: int) -> list[torch.Tensor]:
        """The grid the trainer writes, on the first n held-out images: for each learned direction a row
        of sources, (mode=reference: a row of references, each the next source's partner,) the
        translations, and the paired truth when the data has it."""
        rows: list[torch.Tensor] = []
        n = min(n, domains.test_a.shape[0], domains.test_b.shape[0])  # rows of one length
        for direction in self.directions:
            source, other = (domains.test_a, domains.test_b) if direction == "a2b" else (domains.test_b, domains.test_a)
            source, other = source[:n], other[:n]
            rows.append(source)
            if self.reference_guided:
                reference = other.roll(1, dims=0)
                rows += [reference, self.translate(source, direction, style=reference)]
            else:
                rows.append(self.translate(source, direction))
                if domains.paired:
                    rows.append(other)
        return rows

    def save_pretrained(self, directory: str | Path) -> Path:
        """A self-contained folder (config, weights, model card) that `multigan.load` reads."""
        if self.source is None:
            raise ConfigError("save_pretrained: this translator was not loaded from a folder")
        return export_folder(self.source, directory, self.cfg, self.G)
