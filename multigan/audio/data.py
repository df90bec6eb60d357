"""Audio data: a folder of audio or video files (the user's sound) and the embedded synthesised notes.

`load_audio_folder` reads every audio file under a folder (wav, flac, mp3, ogg/opus, m4a, and the
sound of mp4/webm/mkv/avi/mov videos) through multigan.io.audio, mixes it to mono, resamples it
with torchaudio to `data.sample_rate` and cuts it into windows of `data.seconds` (a file shorter
than a window gives one window, padded with silence). Windows quieter than `data.silence_db` are
dropped and counted; files that cannot be decoded are skipped with a warning and counted. Labels
are the first-level sub-folder names (ImageFolder's convention; one class when the files sit
directly in the folder).

The embedded notes (multigan.audio.synth) are written once into the cache as flac files, one
folder per MIDI pitch, and read back through `load_audio_folder` like any user folder.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch
import torchaudio.functional as AF
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from multigan.audio import synth
from multigan.audio.config import AudioDataConfig
from multigan.core.data import build_folder_once, cache_dir, folder_labels
from multigan.core.errors import ConfigError, MultiganError, warn, warn_skipped
from multigan.io.audio import AUDIO_EXTENSIONS, AudioDecodeError, read_audio, write_audio

NOTES_VERSION = 1


class TensorAudio(Dataset):
    """Windows held in memory as float32 (N, samples) with integer labels (N,)."""

    def __init__(
        self,
        waveforms: torch.Tensor,
        labels: torch.Tensor,
        class_names: list[str],
        sample_rate: int,
        skipped: int = 0,
        silent: int = 0,
    ) -> None:
        self.waveforms, self.labels, self.class_names = waveforms, labels, class_names
        self.sample_rate, self.skipped, self.silent = sample_rate, skipped, silent

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return self.waveforms.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.waveforms[index], int(self.labels[index])


def find_audio(root: Path) -> list[Path]:
    """Audio and video files under root (recursive, sorted), skipping hidden files and folders."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return found


def rms_db(waveforms: torch.Tensor) -> torch.Tensor:
    """RMS level of each row (n, samples) in dB below full scale (a full-scale sine: -3 dB)."""
    rms = waveforms.float().pow(2).mean(-1).sqrt()
    return 20 * torch.log10(rms.clamp(min=1e-10))


def windows(waveform: torch.Tensor, samples: int) -> torch.Tensor:
    """A mono waveform cut into non-overlapping windows (k, samples); a short one padded into one."""
    if waveform.shape[0] < samples:
        return torch.nn.functional.pad(waveform, (0, samples - waveform.shape[0]))[None]
    k = waveform.shape[0] // samples
    return waveform[: k * samples].reshape(k, samples)


def read_mono(path: Path, sample_rate: int) -> torch.Tensor:
    """A file's sound as one float32 channel at `sample_rate` (channels averaged, torchaudio's resampler)."""
    audio, rate = read_audio(path)
    mono = audio.float().mean(0)
    if rate != sample_rate:
        g = math.gcd(rate, sample_rate)
        mono = AF.resample(mono, rate // g, sample_rate // g)
    return mono


def load_audio_folder(root: str | Path, cfg: AudioDataConfig) -> TensorAudio:
    root = Path(root)
    if not root.is_dir():
        raise MultiganError(f"data.path: {root} is not a folder")
    files = find_audio(root)
    if not files:
        raise MultiganError(f"data.path: no audio or video files ({', '.join(AUDIO_EXTENSIONS)}) under {root}")
    class_names, file_labels = folder_labels(root, files)
    chunks, labels, skipped, silent = [], [], [], 0
    for path, label in tqdm(zip(files, file_labels), total=len(files), desc="reading audio", unit="file",
                            disable=None, leave=False):  # fmt: skip
        try:
            cut = windows(read_mono(path, cfg.sample_rate), cfg.samples)
        except AudioDecodeError as err:
            skipped.append((str(path), str(err)))
            continue
        loud = rms_db(cut) >= cfg.silence_db
        silent += int((~loud).sum())
        if loud.any():
            chunks.append(cut[loud])
            labels += [label] * int(loud.sum())
    warn_skipped(skipped, "audio files")
    if silent:
        warn(f"dropped {silent} silent window(s) (quieter than data.silence_db={cfg.silence_db} dB)")
    if not chunks:
        raise MultiganError(f"data.path: no usable sound under {root} ({len(skipped)} unreadable, {silent} silent)")
    return TensorAudio(torch.cat(chunks), torch.tensor(labels), class_names, cfg.sample_rate, len(skipped), silent)


def make_notes() -> Path:
    """Write (once) train/ and test/ folders of synthesised notes, one sub-folder per MIDI pitch;
    returns the folder holding them. A `done.json` written last marks a complete set."""
    return build_folder_once(cache_dir() / f"notes_v{NOTES_VERSION}", _write_notes)


def _write_notes(out: Path) -> None:
    for split in ("train", "test"):
        for _timbre, midi, name, wave in tqdm(synth.notes(split), desc=f"synthesising {split} notes", leave=False):
            write_audio(out / split / str(midi) / f"{name}.flac", wave, synth.SAMPLE_RATE)
    info = {"version": NOTES_VERSION, "timbres": synth.TIMBRES, "pitches": synth.PITCHES}
    (out / "done.json").write_text(json.dumps(info, indent=1))


def load_audio(cfg: AudioDataConfig, split: str = "train") -> TensorAudio:
    """The training windows (split "train"), or the embedded notes' test split (split "test")."""
    if cfg.path == "":
        if cfg.sample_rate != synth.SAMPLE_RATE or cfg.seconds != synth.SECONDS:
            raise ConfigError(
                f"the embedded notes are {synth.SECONDS:g} s at {synth.SAMPLE_RATE} Hz: keep data.sample_rate and "
                "data.seconds at their defaults, or give data.path"
            )
        return load_audio_folder(make_notes() / split, cfg)
    if split != "train":
        raise MultiganError("only the embedded notes have a test split")
    return load_audio_folder(cfg.path, cfg)
