"""Waveforms to the spectrogram G draws, and back, on torchaudio's transforms.

Forward: a mel power spectrogram (STFT centred, Hann window), in dB against a full-scale sine,
kept within 80 dB below it and mapped linearly to [-1, 1]; padded with silence (-1) on the right
to the G's power-of-two width. Inverse: the first `frames` columns back to mel power,
InverseMelScale (least squares) to a linear spectrogram, GriffinLim to a waveform of the window's
length. Griffin-Lim starts from random phases, drawn from torch's RNG: callers seed it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchaudio.transforms as AT
from torch import nn

from multigan.audio.config import AudioConfig

RANGE_DB = 80.0


class LogMel(nn.Module):
    """(n, samples) waveforms <-> (n, 1, n_mels, model_frames) spectrograms in [-1, 1]."""

    def __init__(self, cfg: AudioConfig, range_db: float = RANGE_DB) -> None:
        super().__init__()
        self.range_db = range_db
        m, rate = cfg.model, cfg.data.sample_rate
        self.samples, self.frames, self.width = cfg.data.samples, cfg.frames, cfg.model_frames
        self.mel = AT.MelSpectrogram(rate, n_fft=m.n_fft, hop_length=m.hop, n_mels=m.n_mels, power=2.0)
        self.inverse_mel = AT.InverseMelScale(m.n_fft // 2 + 1, m.n_mels, rate)
        self.griffin_lim = AT.GriffinLim(
            n_fft=m.n_fft, hop_length=m.hop, power=2.0, n_iter=m.griffin_lim_iters, length=self.samples
        )
        # a full-scale sine peaks at n_fft / 4 in the Hann-windowed STFT's magnitude
        self.ceiling_db = 20 * math.log10(m.n_fft / 4)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        power = self.mel(waveforms.float())
        db = 10 * torch.log10(power.clamp(min=1e-12))
        x = ((db - self.ceiling_db) / (self.range_db / 2) + 1).clamp(-1, 1)
        return F.pad(x, (0, self.width - x.shape[-1]), value=-1.0).unsqueeze(1)

    def power(self, spectrograms: torch.Tensor) -> torch.Tensor:
        """(n, 1, n_mels, width) in [-1, 1] -> mel power (n, n_mels, frames); the floor (-1) is silence."""
        x = spectrograms.float().squeeze(1)[..., : self.frames].clamp(-1, 1)
        power = 10 ** (((x - 1) * (self.range_db / 2) + self.ceiling_db) / 10)
        return torch.where(x <= -1, torch.zeros_like(power), power)

    def invert(self, spectrograms: torch.Tensor) -> torch.Tensor:
        """(n, 1, n_mels, width) in [-1, 1] -> waveforms (n, samples)."""
        linear = self.inverse_mel(self.power(spectrograms))
        return self.griffin_lim(linear)
