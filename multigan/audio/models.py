"""The audio GANs: a 2D spectrogram pair (SpecGAN lineage) and a 1D waveform pair (WaveGAN).

Spectrogram G: z -> (n_mels / 2^k, frames / 2^k) map -> k blocks of (transposed conv 4x4 stride
  2, batch norm, FiLM(label), ReLU) -> conv -> tanh: a log-mel spectrogram in [-1, 1].
Spectrogram D: conv, then k blocks of (conv 4x4 stride 2, LeakyReLU) -> logit + projection.
Waveform G: z -> (16, C) -> blocks of (transposed conv length 25 stride 4, FiLM(label), ReLU)
  -> tanh, cut to the window (Donahue et al. 2019, with FiLM for the label).
Waveform D: blocks of (conv length 25 stride 4, LeakyReLU, phase shuffle) -> logit + projection.
Labels are class indices; -1 means "no label" (the label encoder's learned null vector).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from multigan.audio.config import AudioConfig
from multigan.core.conditioning import FiLM, LabelEncoder, projection


def _label_encoder(cfg: AudioConfig) -> LabelEncoder | None:
    m = cfg.model
    return LabelEncoder(m.num_classes, m.cond_dim) if m.conditional and m.num_classes > 0 else None


def _no_labels(n: int, device: torch.device) -> torch.Tensor:
    return torch.full((n,), -1, dtype=torch.long, device=device)


class _Generator(nn.Module):
    """z and labels to the first feature map, then blocks that each upsample and apply FiLM."""

    def __init__(
        self,
        cfg: AudioConfig,
        start: tuple[int, ...],
        blocks: list[nn.Module],
        norms: list[nn.Module],
        widths: list[int],
    ) -> None:
        super().__init__()
        self.z_dim, self.num_classes = cfg.model.z_dim, cfg.model.num_classes
        self.start = start  # (channels, *spatial) of the first map
        self.stem = nn.Linear(cfg.model.z_dim, math.prod(start))
        self.labels = _label_encoder(cfg)
        self.blocks, self.norms = nn.ModuleList(blocks), nn.ModuleList(norms)
        cond = cfg.model.cond_dim
        self.films = nn.ModuleList([FiLM(cond, c) for c in widths])  # widths: each block's input channels

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.stem(z).view(z.shape[0], *self.start)
        cond = None
        if self.labels is not None:
            cond = self.labels(labels if labels is not None else _no_labels(z.shape[0], z.device))
        for i, block in enumerate(self.blocks):
            h = self.norms[i](h)
            if cond is not None:
                h = self.films[i](h, cond)
            h = block(F.relu(h))
        return torch.tanh(h)


class SpectrogramGenerator(_Generator):
    def __init__(self, cfg: AudioConfig) -> None:
        height, width = cfg.model.n_mels, cfg.model_frames
        k = int(math.log2(min(height, width))) - 2
        channels = cfg.model.g_width * 2**k
        blocks: list[nn.Module] = []
        norms: list[nn.Module] = []
        widths = [channels >> i for i in range(k + 1)]
        for ch in widths[:-1]:
            blocks.append(nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False))
            norms.append(nn.BatchNorm2d(ch))
        blocks.append(nn.Conv2d(widths[-1], 1, 3, 1, 1))
        norms.append(nn.BatchNorm2d(widths[-1]))
        super().__init__(cfg, (channels, height >> k, width >> k), blocks, norms, widths)


class WaveGenerator(_Generator):
    def __init__(self, cfg: AudioConfig) -> None:
        k = int(math.log(cfg.model_samples // 16, 4))
        channels = cfg.model.g_width * 2 ** (k - 1)
        widths = [channels >> i for i in range(k)]
        blocks: list[nn.Module] = [
            nn.ConvTranspose1d(ch, 1 if i == k - 1 else ch // 2, 25, stride=4, padding=11, output_padding=1)
            for i, ch in enumerate(widths)
        ]
        super().__init__(cfg, (channels, 16), blocks, [nn.Identity() for _ in blocks], widths)
        self.samples = cfg.data.samples

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(z, labels)[:, 0, : self.samples]


class _Discriminator(nn.Module):
    def __init__(self, cfg: AudioConfig, body: nn.Module, features: int) -> None:
        super().__init__()
        sn = spectral_norm if cfg.model.spectral_norm else (lambda m: m)
        self.body = body
        self.head = sn(nn.Linear(features, 1))
        m = cfg.model
        self.embed = sn(nn.Embedding(m.num_classes, features)) if m.conditional and m.num_classes > 0 else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x).flatten(1)
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is label-conditional: pass labels")
            out = out + projection(self.embed(labels), h)
        return out


class SpectrogramDiscriminator(_Discriminator):
    def __init__(self, cfg: AudioConfig) -> None:
        sn = spectral_norm if cfg.model.spectral_norm else (lambda m: m)
        height, width = cfg.model.n_mels, cfg.model_frames
        k = int(math.log2(min(height, width))) - 2
        ch = cfg.model.d_width
        layers: list[nn.Module] = [sn(nn.Conv2d(1, ch, 3, 1, 1)), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(k):
            layers += [sn(nn.Conv2d(ch, ch * 2, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            ch *= 2
        super().__init__(cfg, nn.Sequential(*layers), ch * (height >> k) * (width >> k))


class PhaseShuffle(nn.Module):
    """Shift each sample's features by a random -n..n steps in time, reflecting at the edges (WaveGAN),
    so D cannot tell real from fake by the phase of G's upsampling artefacts."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.n == 0 or not self.training:
            return x
        length = x.shape[-1]
        shifts = torch.randint(-self.n, self.n + 1, (x.shape[0],), device=x.device)
        padded = F.pad(x, (self.n, self.n), mode="reflect")
        index = torch.arange(length, device=x.device)[None] + self.n - shifts[:, None]
        return padded.gather(2, index[:, None].expand(-1, x.shape[1], -1))


class WaveDiscriminator(_Discriminator):
    def __init__(self, cfg: AudioConfig) -> None:
        sn = spectral_norm if cfg.model.spectral_norm else (lambda m: m)
        k = int(math.log(cfg.model_samples // 16, 4))
        ch_in, ch = 1, cfg.model.d_width
        layers: list[nn.Module] = []
        for i in range(k):
            layers += [sn(nn.Conv1d(ch_in, ch, 25, stride=4, padding=11)), nn.LeakyReLU(0.2, inplace=True)]
            if i < k - 1:
                layers.append(PhaseShuffle(cfg.model.phase_shuffle))
            ch_in, ch = ch, ch * 2
        super().__init__(cfg, nn.Sequential(*layers), ch_in * 16)
        self.pad_to = cfg.model_samples

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = F.pad(x, (0, self.pad_to - x.shape[-1])).unsqueeze(1)  # (n, samples) -> (n, 1, model_samples)
        return super().forward(x, labels)


def build_generator(cfg: AudioConfig) -> nn.Module:
    """G for a config whose model.num_classes is resolved (the run's config.yaml)."""
    return SpectrogramGenerator(cfg) if cfg.mode == "spectrogram" else WaveGenerator(cfg)


def build_discriminator(cfg: AudioConfig) -> nn.Module:
    return SpectrogramDiscriminator(cfg) if cfg.mode == "spectrogram" else WaveDiscriminator(cfg)
