"""multigan.io.audio, and audio tracks in multigan.io.video: round trips, lossy codecs, clip length, refusals."""

import os
import wave
from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from multigan.core.errors import MultiganError
from multigan.io.audio import AudioDecodeError, AudioEncodeError, audio_duration, read_audio, write_audio
from multigan.io.video import VideoEncodeError, read_video, write_video

RATE = 16_000
TONE = 440.0


def sine(seconds: float, rate: int = RATE, freq: float = TONE, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(round(seconds * rate)) / rate)).astype(np.float32)


def peak_hz(wave: torch.Tensor, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave[0].numpy().astype(np.float64)))
    return float(np.argmax(spectrum)) * rate / wave.shape[1]


def frames(t: int = 10) -> np.ndarray:
    return np.stack([np.full((16, 16, 3), 20 * i, np.uint8) for i in range(t)])


def pyav_write(path, fmt: str, codec: str, samples: np.ndarray, rate: int) -> None:
    """A mono file in a format write_audio does not write, straight through PyAV."""
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None], format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def one_line_naming(err: pytest.ExceptionInfo, name: str) -> bool:
    text = str(err.value)
    return name in text and "\n" not in text and not text.startswith("(")


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_wav_and_flac_round_trip_within_16_bit_quantisation(tmp_path, ext):
    tone = sine(0.5)
    path = write_audio(tmp_path / f"tone{ext}", tone, RATE)
    back, rate = read_audio(path)
    assert rate == RATE and back.dtype == torch.float32 and back.shape == (1, len(tone))
    assert np.abs(back[0].numpy() - tone).max() < 1e-4
    assert audio_duration(path) == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_stereo_keeps_both_channels_in_order(tmp_path, ext):
    stereo = torch.from_numpy(np.stack([sine(0.25), -0.5 * sine(0.25)]))
    back, _ = read_audio(write_audio(tmp_path / f"st{ext}", stereo, RATE))
    assert back.shape == stereo.shape
    assert (back - stereo).abs().max() < 1e-4


def test_values_are_clamped_and_max_seconds_stops_early(tmp_path):
    loud = 3 * sine(2.0)
    path = write_audio(tmp_path / "a" / "loud.wav", loud, RATE)
    full, _ = read_audio(path)
    assert full.abs().max() <= 1 and full.max() > 0.999
    head, rate = read_audio(path, max_seconds=0.25)
    assert rate == RATE and torch.equal(head, full[:, : RATE // 4])
    assert [p.name for p in path.parent.iterdir()] == ["loud.wav"]


@pytest.mark.parametrize(
    "name, fmt, codec, rate",
    [
        ("tone.mp3", "mp3", "libmp3lame", RATE),
        ("tone.ogg", "ogg", "libopus", 48_000),
        ("tone.opus", "ogg", "libopus", 48_000),
    ],
)
def test_lossy_files_decode_with_their_tone(tmp_path, name, fmt, codec, rate):
    path = tmp_path / name
    pyav_write(path, fmt, codec, sine(1.0, rate), rate)
    back, got_rate = read_audio(path)
    assert got_rate == rate and back.shape[0] == 1
    assert abs(back.shape[1] - rate) <= 0.06 * rate  # encoder delay and padding
    assert peak_hz(back, rate) == pytest.approx(TONE, abs=3)


@pytest.mark.parametrize("ext, codec, rate", [(".mp4", "aac", RATE), (".webm", "opus", 48_000)])
def test_video_gets_an_audio_track_cut_to_the_clip(tmp_path, ext, codec, rate):
    path = write_video(tmp_path / f"clip{ext}", frames(10), fps=10, audio=sine(2.5), sample_rate=RATE)
    with av.open(str(path)) as container:
        assert len(container.streams.video) == 1 and len(container.streams.audio) == 1
        assert container.streams.audio[0].codec_context.name == codec
    back, got_rate = read_audio(path)
    assert got_rate == rate  # Opus runs at 48 kHz, so the 16 kHz track is resampled
    assert back.shape[1] / rate == pytest.approx(1.0, abs=0.05)  # AAC's priming and padding
    assert peak_hz(back, rate) == pytest.approx(TONE, abs=3)
    assert read_video(path).shape == (10, 16, 16, 3)


@pytest.mark.parametrize("ext", [".mp4", ".webm"])
def test_short_audio_is_padded_with_silence(tmp_path, ext):
    path = write_video(tmp_path / f"pad{ext}", frames(10), fps=10, audio=sine(0.3), sample_rate=RATE)
    back, rate = read_audio(path)
    assert back.shape[1] / rate == pytest.approx(1.0, abs=0.05)
    assert back[0, : rate // 4].abs().max() > 0.3
    assert back[0, -rate // 2 :].abs().max() < 0.01


def test_stereo_video_audio_and_a_rate_aac_cannot_take(tmp_path):
    stereo = np.stack([sine(1.0, 10_000), np.zeros(10_000, np.float32)])
    back, rate = read_audio(write_video(tmp_path / "st.mp4", frames(10), fps=10, audio=stereo, sample_rate=10_000))
    assert rate == 48_000 and back.shape[0] == 2  # AAC has no 10 kHz: resampled
    assert back.shape[1] / rate == pytest.approx(1.0, abs=0.05)
    assert peak_hz(back, rate) == pytest.approx(TONE, abs=3) and back[1].abs().max() < 0.01


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("x.gif", {"audio": sine(1.0), "sample_rate": RATE}, "GIF has no audio track"),
        ("x.mp4", {"audio": sine(1.0)}, "sample_rate"),
        ("x.mp4", {"audio": np.zeros((3, 100), np.float32), "sample_rate": RATE}, "1 to 2 channels"),
        ("x.webm", {"audio": np.full(100, np.nan, np.float32), "sample_rate": RATE}, "NaN"),
    ],
)
def test_bad_video_audio_is_refused_and_nothing_is_left_behind(tmp_path, name, kwargs, match):
    with pytest.raises(VideoEncodeError, match=match):
        write_video(tmp_path / name, frames(3), **kwargs)
    assert list(tmp_path.iterdir()) == []


def _silent_wav(path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"")


@pytest.mark.parametrize(
    "name, make, match",
    [
        ("x.wav", lambda p: p.write_bytes(np.random.default_rng(0).bytes(4000)), "cannot decode audio"),
        ("notes.mp3", lambda p: p.write_text("not a sound at all\n" * 20), "cannot decode audio"),
        ("silent.mp4", lambda p: write_video(p, frames(3)), "no audio stream"),
        ("empty.wav", _silent_wav, "no audio samples"),
        ("missing.flac", lambda p: None, "no such file"),
    ],
)
def test_unreadable_files_raise_one_line_naming_the_file(tmp_path, name, make, match):
    path = tmp_path / name
    make(path)
    for fn in (read_audio, audio_duration):
        if fn is audio_duration and name == "empty.wav":
            continue  # its header says 0 s, which is the answer
        with pytest.raises(AudioDecodeError, match=match) as err:
            fn(path)
        assert one_line_naming(err, name)
    assert issubclass(AudioDecodeError, MultiganError)


@pytest.mark.parametrize("url", ["http://example.com/a.wav", "pipe:0", "concat:a.wav|b.wav", "file:a.flac"])
def test_urls_and_protocols_are_refused(url):
    with pytest.raises(AudioDecodeError, match="only local audio files") as err:
        read_audio(url)
    assert one_line_naming(err, url)


@pytest.mark.parametrize(
    "name, waveform, rate, match",
    [
        ("x.wav", np.full(100, np.nan, np.float32), RATE, "NaN"),
        ("x.wav", np.zeros((1, 2, 100), np.float32), RATE, "shape"),
        ("x.flac", np.zeros((100, 2), np.float32), RATE, "1 to 8 channels"),  # (samples, channels) by mistake
        ("x.wav", np.zeros(0, np.float32), RATE, "at least one sample"),
        ("x.wav", np.zeros(100, np.int16), RATE, "float"),
        ("x.wav", torch.zeros(100, dtype=torch.int64), RATE, "float"),
        ("x.wav", np.zeros(100, np.float32), 0, "sample_rate"),
        ("x.mp3", np.zeros(100, np.float32), RATE, r"\.wav, \.flac"),
    ],
)
def test_bad_waveforms_are_refused_and_nothing_is_left_behind(tmp_path, name, waveform, rate, match):
    with pytest.raises(AudioEncodeError, match=match) as err:
        write_audio(tmp_path / name, waveform, rate)
    assert "\n" not in str(err.value) and not str(err.value).startswith("(")
    assert os.listdir(tmp_path) == []
