"""The audio recipe's config: the top-level `mode`, `data.*`, `model.*` and the shared `train.*` and `loss.*`.

mode=spectrogram  SpecGAN / GANSynth lineage: G draws a log-mel spectrogram with 2D convolutions;
                  torchaudio's InverseMelScale + GriffinLim turn it into a waveform
mode=waveform     WaveGAN: G draws the waveform with 1D transposed convolutions (length 25,
                  stride 4); D shuffles the phase of its features by up to model.phase_shuffle samples
Both are conditioned on a label (a pitch, a class, a folder name) through the core's conditioning:
a label embedding into FiLM in every G block, a projection term in D.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import ClassVar

from multigan.core.config import LossConfig, RunConfig, TrainConfig, check_choice, check_positive
from multigan.core.errors import ConfigError

MODES = ("spectrogram", "waveform")


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass
class AudioDataConfig:
    path: str = ""  # "": the embedded notes; a folder of audio or video files (labels: first-level sub-folders)
    sample_rate: int = 16_000  # every file is resampled to this
    seconds: float = 1.0  # files are cut into windows of this length
    silence_db: float = -50.0  # windows quieter than this (RMS, dB below full scale) are dropped and counted

    def __post_init__(self) -> None:
        check_positive("data.sample_rate", self.sample_rate)
        check_positive("data.seconds", self.seconds)
        if self.sample_rate < 4000 or self.sample_rate > 48000:
            raise ConfigError(f"data.sample_rate: must be between 4000 and 48000, got {self.sample_rate}")
        if self.samples < 1024:
            raise ConfigError(f"data.seconds: windows must hold at least 1024 samples, got {self.samples}")
        if self.silence_db >= 0:
            raise ConfigError(f"data.silence_db: must be below 0 dB, got {self.silence_db}")

    @property
    def samples(self) -> int:
        return round(self.seconds * self.sample_rate)


@dataclass
class AudioModelConfig:
    z_dim: int = 64
    g_width: int = 8  # channels of G's last block; doubles per block towards the start
    d_width: int = 8  # channels of D's first block; doubles per block
    cond_dim: int = 64  # size of the label embedding
    conditional: bool = True  # label-conditional G (FiLM) and projection D
    num_classes: int = 0  # 0: from the data; the run's config.yaml records it
    class_names: list[str] = field(default_factory=list)  # from the data, so sampling needs none
    spectral_norm: bool = True  # on D
    # mode=spectrogram
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 128  # a power of two; the spectrogram G draws n_mels x frames (frames: a power of two)
    griffin_lim_iters: int = 32
    # mode=waveform
    phase_shuffle: int = 2  # WaveGAN's n: D's features shift by a random -n..n samples per layer

    def __post_init__(self) -> None:
        for key in ("z_dim", "g_width", "d_width", "cond_dim", "n_fft", "hop", "griffin_lim_iters"):
            check_positive(f"model.{key}", getattr(self, key))
        check_positive("model.phase_shuffle", self.phase_shuffle, allow_zero=True)
        if not _power_of_two(self.n_mels) or not 16 <= self.n_mels <= 256:
            raise ConfigError(f"model.n_mels: must be a power of two between 16 and 256, got {self.n_mels}")
        if self.hop > self.n_fft:
            raise ConfigError(f"model.hop: must not exceed model.n_fft ({self.n_fft}), got {self.hop}")
        if self.num_classes < 0 or (self.num_classes and not self.conditional):
            raise ConfigError("model.num_classes: set by a conditional run from its data (keep it 0)")


@dataclass
class AudioConfig(RunConfig):
    modality: ClassVar[str] = "audio"
    out_dir: str = "runs/audio"
    mode: str = "spectrogram"  # spectrogram | waveform
    data: AudioDataConfig = field(default_factory=AudioDataConfig)
    model: AudioModelConfig = field(default_factory=AudioModelConfig)
    train: TrainConfig = field(
        # Sized for about 10 minutes on 2 CPU cores (docs/AUDIO.md)
        default_factory=lambda: TrainConfig(
            steps=2000, batch_size=32, ema_decay=0.995, sample_every=500, checkpoint_every=500, num_samples=16
        )
    )
    loss: LossConfig = field(default_factory=lambda: LossConfig(kind="hinge"))

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, MODES)
        if self.mode == "spectrogram":
            self.check_filterbank()

    # -- the shapes the networks are built for
    @property
    def frames(self) -> int:
        """Spectrogram frames of one window (STFT centred), before padding to `model_frames`."""
        return 1 + self.data.samples // self.model.hop

    @property
    def model_frames(self) -> int:
        """The spectrogram G's width: the next power of two at or above `frames`, at least 16."""
        return max(16, 2 ** math.ceil(math.log2(self.frames)))

    @property
    def model_samples(self) -> int:
        """The waveform G's length: 16 * 4^k at or above the window; its output is cut to data.samples."""
        return 16 * 4 ** max(1, math.ceil(math.log(self.data.samples / 16, 4)))

    def check_filterbank(self) -> None:
        """Refuse a mel filterbank with empty bands (too many mels for n_fft): the inversion needs them all."""
        import torchaudio.functional as AF

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchaudio warns about empty bands; the error below says it once
            fb = AF.melscale_fbanks(
                self.model.n_fft // 2 + 1, 0.0, self.data.sample_rate / 2, self.model.n_mels, self.data.sample_rate
            )
        empty = int((fb.max(0).values == 0).sum())
        if empty:
            raise ConfigError(
                f"model.n_mels: {empty} of the {self.model.n_mels} mel bands are empty with model.n_fft="
                f"{self.model.n_fft} at {self.data.sample_rate} Hz; use fewer mels or a larger n_fft"
            )
