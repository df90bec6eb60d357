"""Scores of a trained audio generator (multigan.metrics.audio does the maths).

The protocol, fixed whatever the run's own model settings (so scores of spectrogram and waveform
runs, or of two n_mels, compare):
- every clip, real or generated, is read as a waveform through one log-mel front end (n_fft 1024,
  hop 256, 128 mels, 60 dB of range, the run's sample rate);
- a label classifier (multigan.metrics.audio.SpectrogramClassifier) is trained on the run's
  training windows only (the embedded notes: 800 notes, the held-out (timbre, pitch) pairs
  absent) and cached;
- the reference set: the embedded notes' test split (2 unseen renditions of every pair, the
  held-out pairs included); for your folders, a seeded fifth of the windows, which the classifier
  then does not train on;
- rows: that real reference set; for spectrogram runs, the same clips through the run's
  spectrogram and Griffin-Lim (the ceiling the inversion allows); generated clips, as many as the
  reference, with the reference's labels;
- per row: label accuracy, Inception score and Fréchet distance to the training windows on the
  classifier's 128-d features, NDB against the training windows (20 k-means bins), the share of
  silent (below -50 dBFS) and clipped clips, and, when the labels are MIDI numbers, the share
  played at their pitch by an f0 detector (within half a semitone) that knows nothing of the GAN.
A run on one class (an unlabelled folder) has no classifier; its Fréchet distance and NDB are on
time-averaged log-mel features, and accuracy and Inception score are left out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_model
from torch import nn

from multigan.audio.adapter import AudioAdapter
from multigan.audio.config import AudioConfig, AudioDataConfig
from multigan.audio.data import NOTES_VERSION, TensorAudio, load_audio
from multigan.audio.pipeline import AudioPipeline, limit
from multigan.audio.spectrogram import LogMel
from multigan.core.data import cache_dir
from multigan.core.errors import MultiganError
from multigan.core.health import DIVERSITY, QuickMetric
from multigan.metrics.audio import (
    SpectrogramClassifier,
    clipped_share,
    inception_score,
    number_of_different_bins,
    pitch_accuracy,
    silent_share,
)
from multigan.metrics.diversity import sample_spread
from multigan.metrics.image import batched, fit_classifier, frechet_distance, save_atomically

CLASSIFIER_STEPS = 400
EVALUATION_RANGE_DB = 60.0
CHUNK = 100


def front_end(data: AudioDataConfig) -> LogMel:
    """The evaluation's log-mel: the default model settings at the run's sample rate and length, over
    60 dB, not G's 80, so the classifier reads the notes, not the noise floor (it reads 0.98 of the
    real test notes at 60 dB, 0.965 at 80)."""
    return LogMel(AudioConfig(mode="spectrogram", data=data), range_db=EVALUATION_RANGE_DB)


def midi_labels(class_names: list[str]) -> list[int] | None:
    """The class names as MIDI pitches, when every one is an integer 0..127."""
    try:
        pitches = [int(name) for name in class_names]
    except ValueError:
        return None
    return pitches if pitches and all(0 <= p <= 127 for p in pitches) else None


@dataclass
class AudioEvaluation:
    mode: str
    n_train: int
    n_reference: int
    reference: str  # what the real rows are
    rows: dict[str, dict[str, float]] = field(default_factory=dict)  # row -> metric -> value
    real_vs_real_fd: float | None = None

    def lines(self) -> list[str]:
        out = [f"mode={self.mode}  training windows={self.n_train}  reference={self.reference} ({self.n_reference})"]
        for name, values in self.rows.items():
            out.append(f"{name:>28}: " + "  ".join(f"{k}={v:.4g}" for k, v in values.items()))
        return out

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))


def _classifier_path(data: AudioDataConfig, train: TensorAudio) -> Path:
    if data.path == "":
        key = f"notes_v{NOTES_VERSION}"
    else:
        digest = hashlib.sha256(train.waveforms[:, ::97].contiguous().numpy().tobytes())
        digest.update(json.dumps([train.class_names, train.labels.tolist()]).encode())
        key = digest.hexdigest()[:16]
    protocol = f"{data.sample_rate}_{data.samples}_{EVALUATION_RANGE_DB:g}dB_{CLASSIFIER_STEPS}"
    return cache_dir() / f"audio_classifier_v1_{key}_{protocol}.safetensors"


def label_classifier(
    data: AudioDataConfig, train: TensorAudio, features: LogMel, device: torch.device
) -> SpectrogramClassifier:
    """Trained once per training set (seed 0) on its spectrograms, then cached."""
    n_mels = features.mel.n_mels
    path = _classifier_path(data, train)
    if path.is_file():
        with torch.random.fork_rng():
            model = SpectrogramClassifier(n_mels, train.num_classes)
        load_model(model, str(path))
        return model.to(device).eval()
    x = batched(features, train.waveforms, torch.device("cpu"))
    model = fit_classifier(
        lambda: SpectrogramClassifier(n_mels, train.num_classes), x, train.labels, steps=CLASSIFIER_STEPS, seed=0,
        shift=(0, 4),
    )  # fmt: skip
    save_atomically(model, path)
    return model.to(device).eval()


def split_reference(data: TensorAudio, seed: int = 0) -> tuple[TensorAudio, TensorAudio]:
    """(training part, reference part): a seeded fifth of the windows held out (your folders)."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(data), generator=g)
    cut = max(2, len(data) // 5)
    if len(data) - cut < 2:
        raise MultiganError(f"evaluate needs at least 4 windows of sound, the data has {len(data)}")

    def part(rows: torch.Tensor) -> TensorAudio:
        return TensorAudio(data.waveforms[rows], data.labels[rows], data.class_names, data.sample_rate)

    return part(order[cut:]), part(order[:cut])


class _Scorer:
    def __init__(self, data_cfg: AudioDataConfig, train: TensorAudio, device: torch.device) -> None:
        self.device = device
        self.features = front_end(data_cfg).to(device)
        self.classes = train.num_classes
        self.pitches = midi_labels(train.class_names)
        self.sample_rate = data_cfg.sample_rate
        self.clf = label_classifier(data_cfg, train, self.features, device) if self.classes > 1 else None
        self.train_features = self.embed(train.waveforms)

    def spectrograms(self, waveforms: torch.Tensor) -> torch.Tensor:
        return batched(self.features, waveforms, self.device, CHUNK)

    def embed(self, waveforms: torch.Tensor, spectrograms: torch.Tensor | None = None) -> torch.Tensor:
        x = self.spectrograms(waveforms) if spectrograms is None else spectrograms
        if self.clf is None:
            return x.squeeze(1).mean(-1)  # time-averaged log-mel
        return batched(self.clf.features, x, self.device, CHUNK)

    def score(self, waveforms: torch.Tensor, labels: torch.Tensor | None) -> dict[str, float]:
        """The row's figures; `labels` None: the clips were drawn without a label (no accuracies)."""
        row: dict[str, float] = {}
        x = self.spectrograms(waveforms)
        if self.clf is not None:
            probs = batched(self.clf, x, self.device, CHUNK).softmax(1).double()
            if labels is not None:
                row["accuracy"] = float((probs.argmax(1) == labels).double().mean())
            row["IS"] = inception_score(probs)
        feats = self.embed(waveforms, x)
        row["FD"] = frechet_distance(self.train_features, feats)
        different, bins = number_of_different_bins(self.train_features, feats, bins=20)
        row["NDB"] = different
        row["NDB_bins"] = bins
        row["silent"] = silent_share(waveforms)
        row["clipped"] = clipped_share(waveforms)
        if self.pitches is not None and labels is not None:
            targets = torch.tensor([self.pitches[int(i)] for i in labels], dtype=torch.float64)
            row["f0_pitch_accuracy"] = pitch_accuracy(waveforms, targets, self.sample_rate)
        return row


def evaluate_generator(
    model: AudioPipeline, train: TensorAudio, reference: TensorAudio, *, reference_name: str, seed: int = 0
) -> AudioEvaluation:
    """Score `model` against `reference` (real windows it did not train on), features fitted on `train`."""
    scorer = _Scorer(model.cfg.data, train, model.device)
    report = AudioEvaluation(model.cfg.mode, len(train), len(reference), reference_name)
    report.rows["real"] = scorer.score(reference.waveforms, reference.labels)
    report.real_vs_real_fd = report.rows["real"]["FD"]
    if model.spectrogram is not None:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            spec = model.spectrogram
            round_trip = torch.cat(
                [
                    spec.invert(spec(reference.waveforms[i : i + CHUNK].to(model.device))).cpu()
                    for i in range(0, len(reference), CHUNK)
                ]
            )
        report.rows["real, spectrogram round trip"] = scorer.score(limit(round_trip), reference.labels)
    labels = reference.labels if model.class_names else None
    chunks = []
    for k, i in enumerate(range(0, len(reference), CHUNK)):
        rows = None if labels is None else labels[i : i + CHUNK]
        chunks.append(model.sample_indices(rows, min(CHUNK, len(reference) - i), seed=seed + k))
    fake = torch.cat(chunks)
    report.rows["generated"] = scorer.score(fake, labels)
    return report


def evaluation_sets(data: AudioDataConfig, train: TensorAudio | None = None) -> tuple[TensorAudio, TensorAudio, str]:
    """(classifier training set, reference set, the reference's description) for a run's data."""
    if data.path == "":
        train = train if train is not None else load_audio(data, "train")
        return train, load_audio(data, "test"), "the embedded notes' test split (unseen renditions, all pairs)"
    fitted, reference = split_reference(train if train is not None else load_audio(data))
    return fitted, reference, "a seeded fifth of your windows (the GAN trained on them; the classifier did not)"


def quick_metric(adapter: AudioAdapter, num: int = 100) -> QuickMetric:
    """What `train.eval_every` measures: the f0 pitch accuracy of `num` samples (every label in turn,
    fixed noise) when the labels are MIDI pitches (the embedded notes), and the spread of their
    evaluation log-mels as the diversity. Other sound has no quick score: only the diversity is watched."""
    cfg = adapter.cfg
    pitches = midi_labels(list(cfg.model.class_names) if cfg.model.conditional else [])
    spectrogram = front_end(cfg.data)

    def measure(G: nn.Module) -> dict[str, float]:
        model = adapter.pipeline(G)
        labels = model.labels(num)
        waveforms = model.sample_indices(labels, num, seed=0)
        values = {DIVERSITY: sample_spread(spectrogram.to(model.device)(waveforms.to(model.device)))}
        if pitches is not None and labels is not None:
            targets = torch.tensor([pitches[int(i)] for i in labels], dtype=torch.float64)
            values["f0_pitch_accuracy"] = pitch_accuracy(waveforms, targets, cfg.data.sample_rate)
        return values

    if pitches is None:
        return QuickMetric(None, False, measure, "no quick score: the labels are not MIDI pitches")
    return QuickMetric("f0_pitch_accuracy", False, measure)
