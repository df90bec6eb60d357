"""The embedded default data: instrument notes synthesised here, NSynth in miniature.

Four timbres (additive synthesis with their own harmonic recipes, envelopes and noise) play the 25
pitches of two octaves, MIDI 60-84 (C4-C6), at 16 kHz for one second. Each (timbre, pitch) pair
has `VARIANTS` renditions that differ in loudness, phase, tuning (a few cents), note length and
vibrato, drawn from a seed, so the set is the same on every machine.

Splits:
- "train": variants 0-9 of every pair except the held-out ones;
- "test": variants 10-11 of every pair, held-out pairs included (what evaluate scores against).
A pair is held out of training when its pitch index mod 5 equals its timbre index: 20 of the 100
pairs, each pitch missing at most one timbre, so a pitch-conditioned G has to combine a pitch with
a timbre it never heard it played by.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
SECONDS = 1.0
PITCHES = tuple(range(60, 85))  # MIDI C4..C6
TIMBRES = ("organ", "pluck", "reed", "flute")
VARIANTS = 12
TRAIN_VARIANTS = 10


def held_out(timbre: int, pitch_index: int) -> bool:
    return pitch_index % 5 == timbre


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def _envelope(t: np.ndarray, attack: float, release_at: float, release: float, decay: float = 0.0) -> np.ndarray:
    """Linear attack, optional exponential decay, exponential release after `release_at` seconds."""
    env = np.minimum(t / attack, 1.0)
    if decay > 0:
        env = env * np.exp(-decay * np.maximum(t - attack, 0))
    tail = np.maximum(t - release_at, 0)
    return env * np.exp(-tail / release)


def synthesise(timbre: str, midi: int, rng: np.random.Generator) -> np.ndarray:
    """One note (SAMPLE_RATE * SECONDS,) float32, peak between 0.3 and 0.9."""
    n = int(SAMPLE_RATE * SECONDS)
    t = np.arange(n) / SAMPLE_RATE
    f0 = midi_to_hz(midi) * 2 ** (rng.uniform(-8, 8) / 1200)  # a few cents out of tune
    release_at = rng.uniform(0.55, 0.8)
    vibrato = 1 + rng.uniform(0.001, 0.004) * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t)
    phase = 2 * np.pi * np.cumsum(f0 * vibrato) / SAMPLE_RATE
    nyquist = SAMPLE_RATE / 2
    if timbre == "organ":  # every harmonic at 1/k, steady
        harmonics = [(k, 1 / k, 0.0) for k in range(1, 9)]
        env = _envelope(t, 0.02, release_at, 0.08)
        noise = 0.0
    elif timbre == "pluck":  # bright attack, higher harmonics die faster
        harmonics = [(k, 1 / k, 2.0 + 1.5 * k) for k in range(1, 13)]
        env = _envelope(t, 0.004, release_at, 0.1)
        noise = 0.0
    elif timbre == "reed":  # odd harmonics (a clarinet's closed pipe)
        harmonics = [(k, 1 / k, 0.0) for k in range(1, 14, 2)]
        env = _envelope(t, 0.03, release_at, 0.06)
        noise = 0.0
    elif timbre == "flute":  # nearly a sine, with breath
        harmonics = [(1, 1.0, 0.0), (2, 0.25, 0.0), (3, 0.08, 0.0)]
        env = _envelope(t, 0.08, release_at, 0.12)
        noise = 0.04
    else:
        raise ValueError(f"unknown timbre {timbre!r}")
    wave = np.zeros(n)
    for k, amplitude, decay in harmonics:
        if k * f0 >= nyquist * 0.95:
            break
        partial = amplitude * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
        wave += partial * (np.exp(-decay * t) if decay else 1.0)
    wave *= env
    if noise:
        breath = np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same")  # a soft low-pass
        wave += noise * breath * env
    peak = rng.uniform(0.3, 0.9)
    return (wave * peak / np.abs(wave).max()).astype(np.float32)


def notes(split: str, seed: int = 0) -> list[tuple[str, int, str, np.ndarray]]:
    """(timbre, midi, name, waveform) for every note of a split, in a fixed order."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    variants = range(TRAIN_VARIANTS) if split == "train" else range(TRAIN_VARIANTS, VARIANTS)
    out = []
    for ti, timbre in enumerate(TIMBRES):
        for pi, midi in enumerate(PITCHES):
            if split == "train" and held_out(ti, pi):
                continue
            for v in variants:
                rng = np.random.default_rng([seed, ti, pi, v])
                out.append((timbre, midi, f"{timbre}_{v:02d}", synthesise(timbre, midi, rng)))
    return out
