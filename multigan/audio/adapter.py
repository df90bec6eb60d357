"""The audio adapter: what real, fake, sample and the two losses mean for sound.

Real examples are waveform windows with a label; in mode=spectrogram they become log-mel
spectrograms on the training device (multigan.audio.spectrogram), so G and D never see a
waveform. Samples are written as wav files plus one PNG of their spectrograms.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.utils import save_image

from multigan.audio.config import AudioConfig
from multigan.audio.data import TensorAudio, load_audio
from multigan.audio.models import build_discriminator, build_generator
from multigan.audio.pipeline import AudioPipeline
from multigan.audio.spectrogram import LogMel
from multigan.core.adapter import LossOutput, Networks, Phase, adversarial_phase
from multigan.core.errors import ConfigError
from multigan.core.losses import discriminator_objective, generator_loss
from multigan.io.audio import write_audio

AudioBatch = tuple[torch.Tensor, torch.Tensor]  # G's domain: (B, 1, n_mels, frames) or (B, samples); labels (B,)
AudioSamples = tuple[torch.Tensor, list[str]]  # waveforms (n, samples), the label name of each ("" if none)


class AudioAdapter:
    def __init__(self, cfg: AudioConfig, data: TensorAudio | None = None) -> None:
        self.cfg = cfg
        self.data = data if data is not None else load_audio(cfg.data)
        m = cfg.model
        self.num_classes = self.data.num_classes if m.conditional else 0
        if m.num_classes and m.num_classes != self.num_classes:
            raise ConfigError(f"model.num_classes: the data has {self.num_classes} classes, not {m.num_classes}")
        # resolved into the run's config.yaml, so that sampling needs no data
        m.num_classes = self.num_classes
        m.class_names = list(self.data.class_names) if m.conditional else []
        self.features = LogMel(cfg) if cfg.mode == "spectrogram" else None

    # -- models and data
    def build_models(self) -> Networks:
        return Networks(build_generator(self.cfg), build_discriminator(self.cfg))

    def dataset(self) -> TensorAudio:
        return self.data

    def collate(self, items: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])

    def to_device(self, batch: tuple[torch.Tensor, torch.Tensor], device: torch.device) -> AudioBatch:
        waveforms, labels = batch
        x = waveforms.to(device, non_blocking=True)
        if self.features is not None:
            self.features = self.features.to(device)
            with torch.no_grad():
                x = self.features(x)
        return x, labels.to(device, non_blocking=True)

    def phases(self, G: nn.Module, D: nn.Module) -> list[Phase]:
        train = self.cfg.train
        return [adversarial_phase(train.steps, train.n_critic, self.discriminator_loss, self.generator_loss)]

    # -- losses
    def _labels(self, labels: torch.Tensor) -> torch.Tensor | None:
        return labels if self.num_classes else None

    def _latents(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.randn(n, self.cfg.model.z_dim, device=device)

    def discriminator_loss(self, G: nn.Module, D: nn.Module, batch: AudioBatch, *, regularize: bool) -> LossOutput:
        real, labels = batch
        y = self._labels(labels)
        with torch.no_grad():
            fake = G(self._latents(real.shape[0], real.device), y)
        return discriminator_objective(self.cfg.loss, lambda x: D(x, y), real, fake, regularize=regularize)

    def generator_loss(self, G: nn.Module, D: nn.Module, batch: AudioBatch) -> LossOutput:
        real, labels = batch
        y = self._labels(labels)
        fake = G(self._latents(real.shape[0], real.device), y)
        loss = generator_loss(self.cfg.loss.kind, D(fake, y))
        return LossOutput(loss, {"g_loss": loss.detach()})

    # -- sampling
    def pipeline(self, G: nn.Module) -> AudioPipeline:
        return AudioPipeline(self.cfg, G)

    def sample(self, G: nn.Module, n: int, *, seed: int) -> AudioSamples:
        """n waveforms, every class in turn (conditional runs)."""
        model = self.pipeline(G)
        labels = model.labels(n)
        names = model.label_names(labels, n)
        return model.sample_indices(labels, n, seed=seed), names

    def write_samples(self, samples: AudioSamples, out_dir: Path, step: int) -> None:
        write_sounds(samples, out_dir / f"step_{step:08d}", self.cfg)


def write_sounds(samples: AudioSamples, folder: Path, cfg: AudioConfig) -> list[Path]:
    """`folder/NN_label.wav` for every waveform, and `folder.png`: their spectrograms in a grid."""
    waveforms, names = samples
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (wave, name) in enumerate(zip(waveforms, names)):
        paths.append(write_audio(folder / f"{i:02d}{'_' + name if name else ''}.wav", wave, cfg.data.sample_rate))
    pictures = LogMel(cfg)(waveforms.cpu())[..., : cfg.frames].flip(-2)  # low pitches at the bottom
    save_image(pictures.add(1).div(2), folder.with_suffix(".png"), nrow=min(8, len(names)), padding=2, pad_value=1)
    return paths
