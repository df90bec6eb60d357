"""Audio metrics: Inception score, NDB, silent and clipped shares, pitch (f0) accuracy, spectral convergence.

- `inception_score`: exp(mean_i KL(p(y|x_i) || p(y))) of a classifier's class probabilities, as WaveGAN
  (Donahue et al. 2019) reports on an SC09 digit classifier (real data: 9.18 of 10).
- `number_of_different_bins`: NDB of Richardson & Weiss 2018 ("On GANs and GMMs"), as GANSynth reports:
  k-means bins of the real features, a two-proportion z-test per bin.
- `silent_share`, `clipped_share`: shares of generated clips that are silent or hard-clipped.
- `estimate_f0`, `pitch_accuracy`: the fundamental frequency of one steady note by normalised
  autocorrelation, and the share of clips played at their target MIDI pitch.
- `spectral_convergence`: ||S_ref - S_est||_F / ||S_ref||_F of magnitude spectrograms (Griffin-Lim checks).

Waveforms are float (n, samples) in [-1, 1]; every metric computes in float64.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans
from torch import nn

from multigan.core.errors import MultiganError

SILENT_RMS = 1e-9  # below this RMS (after removing the mean, -180 dBFS) a clip has no pitch
PITCH_PEAK_RATIO = 0.9  # first autocorrelation peak within this ratio of the highest one


def _rows(waveforms: torch.Tensor, what: str) -> torch.Tensor:
    if waveforms.ndim != 2 or waveforms.shape[0] < 1 or waveforms.shape[1] < 1:
        raise MultiganError(f"{what} needs waveforms shaped (n, samples), got {tuple(waveforms.shape)}")
    x = waveforms.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        raise MultiganError(f"{what}: the waveforms contain NaN or inf")
    return x


def inception_score(probs: torch.Tensor) -> float:
    """exp(mean_i KL(p(y|x_i) || p(y))) for class probabilities `probs` (n, k), p(y) the mean row, 0 log 0 = 0.

    1 when every row is the same; k when the rows are one-hot over k equally used classes."""
    if probs.ndim != 2 or probs.shape[0] < 1 or probs.shape[1] < 1:
        raise MultiganError(f"inception_score needs probabilities shaped (n, k) with n >= 1, got {tuple(probs.shape)}")
    p = probs.detach().to("cpu", torch.float64)
    if not torch.isfinite(p).all() or (p < 0).any():
        raise MultiganError("inception_score: the probabilities must be finite and non-negative")
    if ((p.sum(1) - 1).abs() > 1e-3).any():
        raise MultiganError("inception_score: every row of probabilities must sum to 1 (within 1e-3)")
    p_y = p.mean(0, keepdim=True).expand_as(p)
    # p_y > 0 wherever p > 0, so the ratio is finite on the terms kept
    terms = torch.where(p > 0, p * (p / p_y).log(), torch.zeros_like(p))
    return math.exp(float(terms.sum(1).mean()))


def number_of_different_bins(
    real: torch.Tensor, fake: torch.Tensor, *, bins: int = 20, alpha: float = 0.05, seed: int = 0
) -> tuple[int, int]:
    """NDB (Richardson & Weiss 2018): (bins whose real and fake shares differ significantly, bins).

    k-means (n_init=10, random_state=seed) splits the real feature rows (n_r, d) into `bins` clusters;
    each real and fake row goes to its nearest centroid. Per bin, with shares p_r = c_r / n_r and
    p_f = c_f / n_f and pooled p = (c_r + c_f) / (n_r + n_f): z = (p_r - p_f) / sqrt(p (1 - p) (1/n_r + 1/n_f)),
    and the bin differs when the two-sided p-value erfc(|z| / sqrt 2) < alpha. A bin with zero standard
    error (empty on both sides, or holding everything) does not differ."""
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise MultiganError(
            f"NDB needs feature rows (n, d) of one width, got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    if bins < 1 or real.shape[0] < bins or fake.shape[0] < 1:
        raise MultiganError(
            f"NDB needs bins >= 1, at least `bins` real rows and one fake row; got bins={bins}, "
            f"{real.shape[0]} real and {fake.shape[0]} fake rows"
        )
    if not 0 < alpha < 1:
        raise MultiganError(f"NDB needs a significance level alpha in (0, 1), got {alpha}")
    r = real.detach().to("cpu", torch.float64).numpy()
    f = fake.detach().to("cpu", torch.float64).numpy()
    if not (np.isfinite(r).all() and np.isfinite(f).all()):
        raise MultiganError("NDB: the features contain NaN or inf")
    km = KMeans(n_clusters=bins, n_init=10, random_state=seed).fit(r)
    n_r, n_f = r.shape[0], f.shape[0]
    c_r = np.bincount(km.predict(r), minlength=bins).astype(np.float64)
    c_f = np.bincount(km.predict(f), minlength=bins).astype(np.float64)
    p_r, p_f = c_r / n_r, c_f / n_f
    pooled = (c_r + c_f) / (n_r + n_f)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_r + 1 / n_f))
    different = 0
    for diff, s in zip(p_r - p_f, se):
        if s > 0 and math.erfc(abs(diff / s) / math.sqrt(2)) < alpha:
            different += 1
    return different, bins


def silent_share(waveforms: torch.Tensor, *, threshold_db: float = -50.0) -> float:
    """Share of rows of `waveforms` (n, samples) whose level 20 log10(rms) is below `threshold_db`.

    The level is plain 20 log10 rms (no +3 dB AES17 offset): a full-scale sine reads -3.01 dB. A row of
    zeros (-inf dB) is silent."""
    x = _rows(waveforms, "silent_share")
    rms = x.pow(2).mean(1).sqrt()
    level = 20 * torch.log10(rms)  # -inf for a row of zeros
    return float((level < threshold_db).double().mean())


def clipped_share(waveforms: torch.Tensor, *, level: float = 0.999, max_fraction: float = 0.001) -> float:
    """Share of rows of `waveforms` (n, samples) in which more than `max_fraction` of the samples have |x| >= level.

    With the defaults a full-scale sine counts as clipped (2.8% of its samples are above 0.999)."""
    x = _rows(waveforms, "clipped_share")
    fraction = (x.abs() >= level).double().mean(1)
    return float((fraction > max_fraction).double().mean())


def _loudest(x: torch.Tensor, length: int) -> torch.Tensor:
    if x.shape[0] <= length:
        return x
    cs = torch.cat([x.new_zeros(1), x.pow(2).cumsum(0)])
    start = int((cs[length:] - cs[:-length]).argmax())
    return x[start : start + length]


def estimate_f0(waveform: torch.Tensor, sample_rate: int, *, fmin: float = 50.0, fmax: float = 2000.0) -> float:
    """Fundamental frequency in Hz of one (mostly) steady pitched note `waveform` (samples,); NaN when silent.

    On the loudest 0.5 s (or the whole clip if shorter), mean removed, the normalised autocorrelation
    r(t) = sum_i x_i x_{i+t} / sqrt(sum_{i<N-t} x_i^2 * sum_{i>=t} x_i^2) (an FFT gives the numerator) over
    the lags t in [sr/fmax, sr/fmin]. Of its local peaks there, the first (shortest lag) within 0.9 of the
    highest is the period: a periodic signal peaks near 1 at every multiple of its period, and taking the
    highest alone would drop an octave or more. Parabolic interpolation through the peak and its
    neighbours refines the lag. NaN also when the clip has no peak in the lag range or none above 0."""
    if waveform.ndim != 1 or waveform.shape[0] < 1:
        raise MultiganError(f"estimate_f0 needs one waveform shaped (samples,), got {tuple(waveform.shape)}")
    if sample_rate <= 0 or not 0 < fmin < fmax <= sample_rate / 2:
        raise MultiganError(
            f"estimate_f0 needs 0 < fmin < fmax <= sample_rate / 2, got fmin={fmin}, fmax={fmax}, "
            f"sample_rate={sample_rate}"
        )
    x = waveform.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        raise MultiganError("estimate_f0: the waveform contains NaN or inf")
    x = _loudest(x, round(0.5 * sample_rate))
    x = x - x.mean()
    n = x.shape[0]
    lo = max(2, math.floor(sample_rate / fmax))
    hi = min(math.ceil(sample_rate / fmin), n // 2)
    if hi <= lo:
        raise MultiganError(
            f"estimate_f0: a clip of {n} samples is too short for pitches below fmax={fmax} Hz at {sample_rate} Hz"
        )
    energy = float(x.pow(2).sum())
    if math.sqrt(energy / n) < SILENT_RMS:
        return float("nan")
    size = 1 << (n + hi + 1).bit_length()  # zero padding past n + hi: no circular wrap-around
    spectrum = torch.fft.rfft(x, n=size)
    num = torch.fft.irfft(spectrum.real.pow(2) + spectrum.imag.pow(2), n=size)[: hi + 2]
    cs = torch.cat([x.new_zeros(1), x.pow(2).cumsum(0)])
    lags = torch.arange(hi + 2)
    den = (cs[n - lags] * (cs[n] - cs[lags])).sqrt()
    r = torch.where(den > 1e-12 * energy, num / den.clamp_min(1e-300), torch.zeros_like(num))
    t = torch.arange(lo, hi + 1)
    peak = (r[t] > r[t - 1]) & (r[t] >= r[t + 1])
    if not peak.any() or float(r[t][peak].max()) <= 0:
        return float("nan")
    best = float(r[t][peak].max())
    lag = int(t[peak & (r[t] >= PITCH_PEAK_RATIO * best)][0])
    a, b, c = float(r[lag - 1]), float(r[lag]), float(r[lag + 1])
    curvature = a - 2 * b + c
    shift = 0.5 * (a - c) / curvature if curvature < 0 else 0.0
    return sample_rate / (lag + shift)


@overload
def hz_to_midi(hz: float) -> float: ...
@overload
def hz_to_midi(hz: torch.Tensor) -> torch.Tensor: ...
def hz_to_midi(hz: float | torch.Tensor) -> float | torch.Tensor:
    """69 + 12 log2(hz / 440): 440 Hz is MIDI 69 (A4); -inf for 0 Hz, NaN for NaN or negative."""
    if isinstance(hz, torch.Tensor):
        return 69 + 12 * torch.log2(hz / 440)
    if hz > 0:
        return 69 + 12 * math.log2(hz / 440)
    return float("-inf") if hz == 0 else float("nan")


@overload
def midi_to_hz(midi: float) -> float: ...
@overload
def midi_to_hz(midi: torch.Tensor) -> torch.Tensor: ...
def midi_to_hz(midi: float | torch.Tensor) -> float | torch.Tensor:
    """440 * 2^((midi - 69) / 12), the inverse of `hz_to_midi`."""
    if isinstance(midi, torch.Tensor):
        return 440 * torch.exp2((midi - 69) / 12)
    return 440 * 2 ** ((midi - 69) / 12)


def pitch_accuracy(waveforms: torch.Tensor, midi: torch.Tensor, sample_rate: int, *, tolerance: float = 0.5) -> float:
    """Share of rows of `waveforms` (n, samples) whose `estimate_f0`, in MIDI, is within `tolerance`
    semitones of the row's target `midi` (n,); a NaN estimate (silence, no pitch) is wrong."""
    x = _rows(waveforms, "pitch_accuracy")
    if midi.shape != (x.shape[0],):
        raise MultiganError(
            f"pitch_accuracy needs one target MIDI pitch per waveform, got {tuple(midi.shape)} for "
            f"{x.shape[0]} waveforms"
        )
    right = 0
    for row, target in zip(x, midi.tolist()):
        error = abs(hz_to_midi(estimate_f0(row, sample_rate)) - target)
        right += error <= tolerance  # False for NaN
    return right / x.shape[0]


def spectral_convergence(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    """||S_ref - S_est||_F / ||S_ref||_F of two magnitude spectrograms of one shape (any batch dims):
    0 for a perfect reconstruction, 1 for an all-zero estimate."""
    if reference.shape != estimate.shape:
        raise MultiganError(
            f"spectral_convergence needs spectrograms of one shape, got {tuple(reference.shape)} and "
            f"{tuple(estimate.shape)}"
        )
    if reference.is_complex() or estimate.is_complex():
        raise MultiganError("spectral_convergence needs magnitude spectrograms: pass .abs() of complex ones")
    ref = reference.detach().to("cpu", torch.float64)
    est = estimate.detach().to("cpu", torch.float64)
    norm = torch.linalg.vector_norm(ref)
    if not norm > 0:
        raise MultiganError("spectral_convergence: the reference spectrogram is all zeros (or not finite)")
    return float(torch.linalg.vector_norm(ref - est) / norm)


# ------------------------------------------------------------------------------ label classifier


class SpectrogramClassifier(nn.Module):
    """A small CNN on log-mel spectrograms (n, 1, n_mels, frames) in [-1, 1]. Time is averaged in
    fours first (a pitch or a class does not need 16 ms steps), then three conv + max-pool blocks, a
    mean over time (so any length reads the same) and a 128-d penultimate layer, `features`.
    Frequency keeps its place: a pitch is where its harmonics sit."""

    def __init__(self, n_mels: int, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.AvgPool2d((1, 4), ceil_mode=True),
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.fc = nn.Linear(32 * (n_mels // 8), 128)
        self.out = nn.Linear(128, num_classes)

    def features(self, spectrograms: torch.Tensor) -> torch.Tensor:
        h = self.conv(spectrograms.float()).mean(-1)  # (n, 32, n_mels / 8)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, spectrograms: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(spectrograms))
