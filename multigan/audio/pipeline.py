"""A trained audio generator, as `multigan.load` returns it: sampling needs no dataset.

    model = multigan.load("runs/audio")
    waveforms, rate = model.generate(8, label="60", seed=0)   # float (8, samples) in [-1, 1], 16000
    model.save_pretrained("exported/audio")

`label` is a class name of the run's data (the embedded notes: a MIDI pitch, "60".."84"); None
draws every class in turn. The CLI's `generate` verb and the training-time samples draw through
the same code. Spectrogram runs invert G's log-mel spectrograms with Griffin-Lim; waveform runs
return G's output. Output whose peak passes 0.99 is scaled down to it (a limiter: never a
clipped sample).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from multigan.audio.config import AudioConfig
from multigan.audio.models import build_generator
from multigan.audio.spectrogram import LogMel
from multigan.core.errors import ConfigError
from multigan.core.export import export_folder, load_folder_config, load_generator
from multigan.core.runtime import resolve_device

PEAK = 0.99


def limit(waveforms: torch.Tensor, peak: float = PEAK) -> torch.Tensor:
    """Rows whose peak passes `peak` scaled down to it; the others untouched."""
    top = waveforms.abs().amax(-1, keepdim=True)
    return waveforms * torch.where(top > peak, peak / top.clamp(min=1e-12), torch.ones_like(top))


class AudioPipeline:
    modality = "audio"

    def __init__(self, cfg: AudioConfig, G: nn.Module, source: Path | None = None) -> None:
        self.cfg, self.G, self.source = cfg, G.eval(), source
        self.spectrogram = LogMel(cfg).to(self.device) if cfg.mode == "spectrogram" else None

    @classmethod
    def from_folder(cls, folder: str | Path, device: str = "cpu", checkpoint: str | None = None) -> AudioPipeline:
        """A run folder (its newest intact checkpoint's EMA generator, or the one named
        `checkpoint`: `best`, `mle`, `step_XXXXXXXX`) or an exported folder."""
        cfg = load_folder_config(folder, AudioConfig)
        G = build_generator(cfg)
        load_generator(folder, G, checkpoint)
        return cls(cfg, G.to(resolve_device(device)), Path(folder))

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    @property
    def sample_rate(self) -> int:
        return self.cfg.data.sample_rate

    @property
    def class_names(self) -> list[str]:
        return list(self.cfg.model.class_names) if self.cfg.model.conditional else []

    def labels(self, n: int, label: str | int | None = None) -> torch.Tensor | None:
        """The class index of each of n samples: `label` (a class name) for all, or every class in turn."""
        names = self.class_names
        if not names:
            if label is not None:
                raise ConfigError("--label needs a label-conditional run (model.conditional=true)")
            return None
        if label is not None:
            if str(label) not in names:
                shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                raise ConfigError(f"--label: {label!r} is not a label of this run ({shown})")
            return torch.full((n,), names.index(str(label)), dtype=torch.long)
        return torch.arange(n) % len(names)

    def label_names(self, labels: torch.Tensor | None, n: int) -> list[str]:
        """The class name of each of n samples ("" for every one when unconditional): file names use them."""
        return [self.class_names[int(i)] for i in labels] if labels is not None else [""] * n

    @torch.no_grad()
    def sample_indices(self, labels: torch.Tensor | None, n: int, *, seed: int = 0) -> torch.Tensor:
        """n waveforms (n, samples) in [-1, 1] on the CPU for class indices `labels` (n,) or None."""
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(seed)  # z, and Griffin-Lim's initial phases
            z = torch.randn(n, self.cfg.model.z_dim, device=self.device)
            y = labels.to(self.device) if labels is not None else None
            out = self.G(z, y).float()
            if self.spectrogram is not None:
                out = self.spectrogram.invert(out)
        return limit(out.cpu())

    def sample(self, n: int, *, seed: int = 0, label: str | int | None = None) -> torch.Tensor:
        return self.sample_indices(self.labels(n, label), n, seed=seed)

    def generate(self, num: int, label: str | int | None = None, seed: int = 0) -> tuple[torch.Tensor, int]:
        """`num` float waveforms (num, samples) in [-1, 1] and their sample rate."""
        if num < 1:
            raise ConfigError("--num must be at least 1")
        return self.sample(num, seed=seed, label=label), self.sample_rate

    def save_pretrained(self, directory: str | Path) -> Path:
        """A self-contained folder (config, weights, model card) that `multigan.load` reads."""
        if self.source is None:
            raise ConfigError("save_pretrained: this generator was not loaded from a folder")
        return export_folder(self.source, directory, self.cfg, self.G)
