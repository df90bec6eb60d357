"""Reading and writing audio files through PyAV (with multigan.io.video, the only modules that import it).

Waveforms travel as float32 tensors of shape (channels, samples) in [-1, 1], at the file's own
sample rate. Files are opened as multigan.io.video opens them: local files only (no URLs,
protocols or playlists), FFmpeg's `file` protocol, and a whitelist of demuxers, which holds
wav, flac, mp3, ogg (Vorbis, Opus), aac and m4a as well as the video containers, whose first
audio stream is read. Containers are always closed (context managers). Writing makes 16-bit
.wav or .flac under a temporary name, renamed when complete.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import av
import numpy as np
import torch

from multigan.core.errors import MultiganError
from multigan.io.video import _as_waveform, _AudioTrack, _is_positive_int, _open, _reason, check_local_path

# Audio files, then the video containers whose sound track is read.
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".mp4", ".webm", ".mkv", ".avi", ".mov")
AUDIO_WRITE_EXTENSIONS = (".wav", ".flac")
_WRITERS = {".wav": ("wav", "pcm_s16le"), ".flac": ("flac", "flac")}
_WRITE_CHUNK = 65_536  # samples per frame handed to the encoder


class AudioError(MultiganError):
    """An audio file that cannot be read or written."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AudioDecodeError(AudioError):
    """A file that cannot be decoded (missing, corrupt, no audio stream, no samples, unsafe)."""


class AudioEncodeError(AudioError):
    """A waveform that cannot be written (bad dtype, shape or values, sample rate, extension)."""


def _fail(path: Path, reason: str) -> AudioDecodeError:
    return AudioDecodeError(f"cannot decode audio {str(path)!r}: {reason}")


def read_audio(path: str | os.PathLike, *, max_seconds: float | None = None) -> tuple[torch.Tensor, int]:
    """(float32 (channels, samples) in [-1, 1], sample rate) from the first audio stream of a file.

    The samples are converted to float by av.AudioResampler, which keeps the channel layout and
    the rate. `max_seconds` stops decoding once that much audio is in (the rest of the file is
    never decoded). Anything that cannot be decoded, or no samples, raises AudioDecodeError.
    """
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive or None, got {max_seconds}")
    p = check_local_path(path, what="audio", error=AudioDecodeError)
    planes: list[np.ndarray] = []
    got = 0
    try:
        with _open(p, what="audio", error=AudioDecodeError) as container:
            if not container.streams.audio:
                raise _fail(p, "no audio stream")
            stream = container.streams.audio[0]
            resampler: av.AudioResampler | None = None
            template: tuple[str, str, int] | None = None
            limit: int | None = None
            rate = channels = 0
            for frame in container.decode(stream):
                if template is None:
                    rate, channels = frame.sample_rate, frame.layout.nb_channels
                    limit = None if max_seconds is None else max(1, math.ceil(max_seconds * rate))
                key = (frame.format.name, frame.layout.name, frame.sample_rate)
                if resampler is None or key != template:
                    if frame.layout.nb_channels != channels:
                        raise _fail(p, f"the channel count changes from {channels} to {frame.layout.nb_channels}")
                    # A chained file's parameters can change mid-stream; resample the rest to the first rate.
                    if resampler is not None:
                        planes += [f.to_ndarray() for f in resampler.resample(None)]
                    resampler, template = av.AudioResampler("fltp", frame.layout, rate), key
                for out in resampler.resample(frame):
                    planes.append(out.to_ndarray())
                    got += out.samples
                if limit is not None and got >= limit:
                    break
            else:
                if resampler is not None:
                    planes += [f.to_ndarray() for f in resampler.resample(None)]
    except (av.FFmpegError, ValueError) as e:
        raise _fail(p, _reason(e)) from None
    wave = np.concatenate(planes, axis=1) if planes else np.zeros((0, 0), np.float32)
    if limit is not None:
        wave = wave[:, :limit]
    if wave.shape[1] == 0:
        raise _fail(p, "no audio samples")
    return torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), rate


def audio_duration(path: str | os.PathLike) -> float:
    """Seconds of the first audio stream: from the stream's header, else the container's, else by
    decoding. A header may count a codec's priming samples, which decoding drops."""
    p = check_local_path(path, what="audio", error=AudioDecodeError)
    with _open(p, what="audio", error=AudioDecodeError) as container:
        if not container.streams.audio:
            raise _fail(p, "no audio stream")
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return container.duration / av.time_base
    wave, rate = read_audio(p)
    return wave.shape[1] / rate


def write_audio(path: str | os.PathLike, waveform, sample_rate: int) -> Path:
    """Write a float waveform, (samples,) or (channels, samples) with 1 to 8 channels, clamped to
    [-1, 1], to .wav (16-bit PCM) or .flac (16-bit) at `sample_rate` Hz.

    The file is written under a temporary name and renamed, so a crash never leaves half a file.
    A bad dtype, shape, NaN or infinity, extension or sample rate raises AudioEncodeError.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in _WRITERS:
        raise AudioEncodeError(f"cannot write {str(p)!r}: extension must be one of {', '.join(AUDIO_WRITE_EXTENSIONS)}")
    if not _is_positive_int(sample_rate):
        raise AudioEncodeError(f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}")
    wave = _as_waveform(waveform, AudioEncodeError)
    fmt, codec = _WRITERS[ext]
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.{os.getpid()}.partial{ext}")  # the pid: two processes may write one path
    try:
        with av.open(str(tmp), mode="w", format=fmt) as container:
            track = _AudioTrack(container, codec, int(sample_rate), wave.shape[0], sample_format="s16")
            for start in range(0, wave.shape[1], _WRITE_CHUNK):
                container.mux(track.encode(wave[:, start : start + _WRITE_CHUNK]))
            container.mux(track.flush())
        os.replace(tmp, p)
    except (av.FFmpegError, ValueError) as e:
        raise AudioEncodeError(f"cannot write audio {str(p)!r}: {_reason(e)}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return p
