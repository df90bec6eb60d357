"""Reading and writing video files. PyAV is imported here and in multigan.io.audio, nowhere else.

Frames travel as uint8 tensors of shape (T, H, W, C), C = 3 (RGB) or 1 (gray). Resizing happens
inside FFmpeg (swscale) while a frame is converted, so full-size RGB frames are never built in
Python. Containers are always closed (context managers), so nothing here holds a file open and
the functions are safe to call from DataLoader workers.

Only local files are opened: URLs and FFmpeg protocols (http:, rtmp:, concat:, pipe:, ...) and
playlists are refused, FFmpeg may only use its `file` protocol, and only ordinary container
formats (mp4/mov, mkv/webm, avi, gif, mpeg, ogg, flv, and the audio formats wav, flac, mp3, aac)
may be demuxed. A frame size above `max_pixels` is refused after reading the header and before
decoding a frame. The helpers that open files safely and encode audio tracks are shared with
multigan.io.audio.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import torch
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream

from multigan.core.errors import MultiganError

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".gif")
WRITE_EXTENSIONS = (".mp4", ".webm", ".gif")
_AUDIO_CODECS = {".mp4": "aac", ".webm": "libopus"}
DEFAULT_MAX_PIXELS = 4096 * 2304  # a little above 4K UHD
# Sequential decoding is exact and cheap for short offsets; seek only when this many frames in.
SEEK_MIN_FRAMES = 48
# Frames up to this size decode on one thread; larger ones on FFmpeg's automatic thread count.
SMALL_FRAME_PIXELS = 320 * 240

_ALLOWED_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,gif,mpeg,mpegts,ogg,flv,wav,flac,mp3,aac"
_OPEN_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": _ALLOWED_DEMUXERS}
_PLAYLIST_SUFFIXES = {".m3u", ".m3u8", ".pls", ".mpd", ".sdp", ".ffconcat", ".concat", ".txt", ".xspf"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.,\-]+:")  # two letters or more: "C:" stays a drive


class VideoError(MultiganError):
    """A video file that cannot be read or written."""


class VideoDecodeError(VideoError):
    """A file that cannot be decoded (missing, corrupt, not a video, unsafe, too large)."""


class VideoEncodeError(VideoError):
    """Frames that cannot be written (bad shape or dtype, unsupported extension)."""


@dataclass(frozen=True)
class VideoInfo:
    frames: int
    fps: float
    width: int
    height: int
    duration: float  # seconds


# --------------------------------------------------------------------------------------- reading


def check_local_path(
    path: str | os.PathLike, *, what: str = "video", error: type[MultiganError] = VideoDecodeError
) -> Path:
    """The path as a Path if it names an existing local file that is not a playlist; else `error`,
    whose message calls the file a `what` file."""
    text = os.fspath(path)
    if _SCHEME.match(text):
        raise error(f"refusing {text!r}: only local {what} files are read (no URLs or protocols)")
    p = Path(text)
    if p.suffix.lower() in _PLAYLIST_SUFFIXES:
        raise error(f"refusing {text!r}: playlists and concat lists are not read")
    if not p.is_file():
        raise error(f"cannot decode {what} {text!r}: no such file")
    return p.resolve()  # absolute, so FFmpeg never reads a "name:" prefix as a protocol


def _open(path: Path, *, what: str = "video", error: type[MultiganError] = VideoDecodeError):
    try:
        return av.open(str(path), mode="r", container_options=_OPEN_OPTIONS)
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as e:
        raise error(f"cannot decode {what} {str(path)!r}: {_reason(e)}") from None


def _reason(e: BaseException) -> str:
    """FFmpeg's message without the errno and the file name (which the caller's message holds)."""
    text = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return text.splitlines()[0][:200]


def _video_stream(container, path: Path, max_pixels: int | None):
    if not container.streams.video:
        raise VideoDecodeError(f"cannot decode video {str(path)!r}: no video stream")
    stream = container.streams.video[0]
    w, h = stream.codec_context.width, stream.codec_context.height
    if w <= 0 or h <= 0:
        raise VideoDecodeError(f"cannot decode video {str(path)!r}: unknown frame size")
    _check_pixels(path, w, h, max_pixels)
    stream.thread_type = "AUTO"
    if w * h <= SMALL_FRAME_PIXELS:
        # Threads cost more than they save on small frames (measured on 64x64 clips: about 2x
        # slower with FFmpeg's automatic thread count than with one thread).
        stream.codec_context.thread_count = 1
    return stream


def _check_pixels(path: Path, w: int, h: int, max_pixels: int | None) -> None:
    if max_pixels is not None and w * h > max_pixels:
        raise VideoDecodeError(
            f"refusing video {str(path)!r}: frames of {w}x{h} exceed the limit of {max_pixels} pixels"
        )


def _fps(stream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 0.0


def probe(path: str | os.PathLike, *, exact: bool = False, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> VideoInfo:
    """Frames, fps, size and duration of the first video stream.

    The frame count comes from the header when it has one, else from counting packets (no
    decoding). `exact=True` decodes every frame and counts those, which also proves the whole
    file decodes.
    """
    p = check_local_path(path)
    with _open(p) as container:
        stream = _video_stream(container, p, max_pixels)
        fps = _fps(stream)
        try:
            if exact:
                frames = 0
                for frame in container.decode(stream):
                    _check_pixels(p, frame.width, frame.height, max_pixels)
                    frames += 1
            elif stream.frames > 0:
                frames = stream.frames
            else:
                frames = sum(1 for packet in container.demux(stream) if packet.size > 0)
        except av.FFmpegError as e:
            raise VideoDecodeError(f"cannot decode video {str(p)!r}: {_reason(e)}") from None
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = frames / fps if fps else 0.0
        w, h = stream.codec_context.width, stream.codec_context.height
    if frames == 0:
        raise VideoDecodeError(f"cannot decode video {str(p)!r}: no frames")
    return VideoInfo(frames=frames, fps=fps, width=w, height=h, duration=duration)


def _scaled_size(src_hw: tuple[int, int], size: tuple[int, int] | None, resize: str):
    """(scale_h, scale_w, crop_top, crop_left) for a frame of src_hw going to `size`."""
    h, w = src_hw
    if size is None:
        return h, w, 0, 0
    th, tw = size
    if resize == "stretch":
        return th, tw, 0, 0
    if resize != "crop":
        raise ValueError(f"resize must be 'crop' or 'stretch', not {resize!r}")
    scale = max(th / h, tw / w)  # cover the target, then cut the centre
    sh, sw = max(th, round(h * scale)), max(tw, round(w * scale))
    return sh, sw, (sh - th) // 2, (sw - tw) // 2


def read_video(
    path: str | os.PathLike,
    *,
    start: int = 0,
    num_frames: int | None = None,
    stride: int = 1,
    size: tuple[int, int] | None = None,
    resize: str = "crop",
    gray: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    seek_min_frames: int = SEEK_MIN_FRAMES,
) -> torch.Tensor:
    """Frames start, start+stride, ... as a uint8 tensor (T, H, W, 3), or (T, H, W, 1) if gray.

    `size=(h, w)` resizes inside FFmpeg: `resize="crop"` keeps the aspect ratio and cuts the
    centre, `"stretch"` does not keep it. `num_frames=None` reads to the end. A file that ends
    before `num_frames` frames raises VideoDecodeError, as does anything FFmpeg cannot decode.
    Frame numbers count decoded frames; a start of `seek_min_frames` or more seeks by timestamp
    (exact for constant frame rate files) instead of decoding from the first frame.
    """
    if start < 0 or stride < 1 or (num_frames is not None and num_frames < 1):
        raise ValueError(f"need start >= 0, stride >= 1, num_frames >= 1 (got {start}, {stride}, {num_frames})")
    p = check_local_path(path)
    stop = None if num_frames is None else start + (num_frames - 1) * stride + 1
    out: list[np.ndarray] = []
    fmt = "gray" if gray else "rgb24"
    try:
        with _open(p) as container:
            stream = _video_stream(container, p, max_pixels)
            geometry = None
            for index, frame in _indexed_frames(container, stream, start, seek_min_frames):
                if index < start or (index - start) % stride:
                    continue
                if stop is not None and index >= stop:
                    break
                _check_pixels(p, frame.width, frame.height, max_pixels)
                if geometry is None or geometry[0] != (frame.height, frame.width):
                    geometry = (
                        (frame.height, frame.width),
                        _scaled_size((frame.height, frame.width), size, resize),
                    )
                sh, sw, top, left = geometry[1]
                arr = frame.to_ndarray(width=sw, height=sh, format=fmt, interpolation="AREA")
                if size is not None:
                    arr = arr[top : top + size[0], left : left + size[1]]
                out.append(arr)
                if stop is not None and index + stride >= stop:
                    break
    except av.FFmpegError as e:
        raise VideoDecodeError(f"cannot decode video {str(p)!r}: {_reason(e)}") from None
    if num_frames is not None and len(out) < num_frames:
        raise VideoDecodeError(
            f"cannot decode video {str(p)!r}: wanted {num_frames} frames from frame {start} at stride "
            f"{stride}, the file gave {len(out)}"
        )
    if not out:
        raise VideoDecodeError(f"cannot decode video {str(p)!r}: no frames at or after frame {start}")
    frames = torch.from_numpy(np.stack(out))
    return frames.unsqueeze(-1) if gray else frames


def _indexed_frames(container, stream, start: int, seek_min_frames: int):
    """(frame number, frame) pairs from `start` on (or a little before), seeking when far in."""
    fps = stream.average_rate
    if start >= seek_min_frames and fps and stream.time_base:
        t0 = stream.start_time or 0

        def number(frame) -> int:
            return round(float((frame.pts - t0) * stream.time_base * fps))

        # Seek to the keyframe at or before the target, then number frames by their timestamps.
        container.seek(t0 + int(start / fps / stream.time_base), stream=stream, backward=True, any_frame=False)
        decoded = container.decode(stream)
        first = next(decoded, None)
        if first is not None and first.pts is not None and number(first) <= start:
            index = number(first)
            yield index, first
            for frame in decoded:
                index = number(frame) if frame.pts is not None else index + 1
                yield index, frame
            return
        # No timestamps, or the seek overshot: count decoded frames from the first one instead.
        container.seek(0, stream=stream, backward=True, any_frame=False)
    yield from enumerate(container.decode(stream))


# --------------------------------------------------------------------------------------- writing


def _as_uint8_frames(frames) -> np.ndarray:
    arr = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if arr.dtype != np.uint8:
        raise VideoEncodeError(f"frames must be uint8 (T, H, W, C), got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3) or arr.shape[0] == 0:
        raise VideoEncodeError(f"frames must have shape (T, H, W, 1 or 3) with T >= 1, got {tuple(arr.shape)}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return np.ascontiguousarray(arr)


def _even(arr: np.ndarray, odd: str) -> np.ndarray:
    """Make height and width even for 4:2:0 chroma: pad by repeating the edge, or crop."""
    h, w = arr.shape[1:3]
    if h % 2 == 0 and w % 2 == 0:
        return arr
    if odd == "crop":
        if h < 2 or w < 2:
            raise VideoEncodeError(f"cannot crop a {w}x{h} frame to even size")
        return np.ascontiguousarray(arr[:, : h - h % 2, : w - w % 2])
    if odd != "pad":
        raise ValueError(f"odd must be 'pad' or 'crop', not {odd!r}")
    return np.pad(arr, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def write_video(
    path: str | os.PathLike,
    frames,
    *,
    fps: float = 10,
    crf: int | None = None,
    odd: str = "pad",
    audio=None,
    sample_rate: int | None = None,
) -> Path:
    """Write uint8 frames (T, H, W, 3 or 1) to .mp4 (H.264), .webm (VP9) or .gif.

    `crf` is the codec's constant-quality setting (lower is better; defaults 18 for H.264 and 32
    for VP9; ignored for GIF, which gets one palette made from all its frames; GIF stores frame
    delays in 1/100 s, so 12 fps comes back as 12.5). H.264 in yuv420p
    needs even sizes: `odd="pad"` repeats the last row/column, `"crop"` drops it. The file is
    written under a temporary name and renamed, so a crash never leaves a half-written video.

    `audio`, float (samples,) or (channels, samples) with 1 or 2 channels in [-1, 1] (clamped) at
    `sample_rate`, adds a sound track, trimmed or zero-padded to the clip's T / fps seconds: AAC
    at 128 kb/s in an .mp4 (a rate AAC cannot take is resampled to 48 kHz), Opus at 128 kb/s in a
    .webm (always resampled to 48 kHz, the rate Opus runs at). A .gif with audio is refused.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in WRITE_EXTENSIONS:
        raise VideoEncodeError(f"cannot write {str(p)!r}: extension must be one of {', '.join(WRITE_EXTENSIONS)}")
    if audio is not None and ext == ".gif":
        raise VideoEncodeError(f"cannot write {str(p)!r} with audio: GIF has no audio track")
    if not fps or fps <= 0:
        raise VideoEncodeError(f"fps must be positive, got {fps}")
    arr = _as_uint8_frames(frames)
    rate = Fraction(fps).limit_denominator(1001)
    track: tuple[str, np.ndarray, int] | None = None
    if audio is not None:
        if sample_rate is None or not _is_positive_int(sample_rate):
            raise VideoEncodeError(f"audio needs sample_rate, a positive whole number of Hz, got {sample_rate!r}")
        wave = _as_waveform(audio, VideoEncodeError, max_channels=2)
        track = (_AUDIO_CODECS[ext], _fit_length(wave, round(len(arr) * int(sample_rate) / rate)), int(sample_rate))
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.{os.getpid()}.partial{ext}")  # the pid: two processes may write one path
    try:
        if ext == ".mp4":
            arr = _even(arr, odd)
            options = {"crf": str(18 if crf is None else crf), "preset": "medium"}
            _encode(tmp, "mp4", "libx264", "yuv420p", arr, rate, options, track)
        elif ext == ".webm":
            options = {
                "crf": str(32 if crf is None else crf),
                "b:v": "0",
                "deadline": "good",
                "cpu-used": "4",
            }
            _encode(tmp, "webm", "libvpx-vp9", "yuv420p", arr, rate, options, track)
        else:
            _encode_gif(tmp, arr, rate)
        os.replace(tmp, p)
    except av.FFmpegError as e:
        raise VideoEncodeError(f"cannot write video {str(p)!r}: {_reason(e)}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return p


def _encode(
    path: Path,
    fmt: str,
    codec: str,
    pix_fmt: str,
    arr: np.ndarray,
    rate: Fraction,
    options: dict,
    audio: tuple[str, np.ndarray, int] | None = None,
) -> None:
    """Encode the frames, and if given (codec, float (channels, samples) already fitted to the
    clip, sample rate) an audio track, muxed in time order: after frame i, the audio up to i + 1."""
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = cast(VideoStream, container.add_stream(codec, rate=rate))
        stream.height, stream.width = arr.shape[1:3]
        stream.pix_fmt = pix_fmt
        stream.options = options
        track = None
        if audio is not None:
            audio_codec, wave, sample_rate = audio
            target = 48_000 if audio_codec == "libopus" else None
            track = _AudioTrack(
                container, audio_codec, sample_rate, wave.shape[0], rate=target, bit_rate=AUDIO_BIT_RATE
            )
        done = 0
        for i, image in enumerate(arr):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            if track is not None:
                end = (i + 1) * wave.shape[1] // len(arr)
                container.mux(track.encode(wave[:, done:end]))
                done = end
        container.mux(stream.encode(None))
        if track is not None:
            container.mux(track.flush())


def _encode_gif(path: Path, arr: np.ndarray, rate: Fraction) -> None:
    """GIF through FFmpeg's palettegen/paletteuse: one 256-colour palette made from every frame."""
    h, w = arr.shape[1:3]
    graph = av.filter.Graph()
    src = graph.add_buffer(width=w, height=h, format=av.VideoFormat("rgb24"), time_base=1 / rate)
    split = graph.add("split")
    palettegen = graph.add("palettegen", "stats_mode=full")
    paletteuse = graph.add("paletteuse", "dither=none")
    sink = graph.add("buffersink")
    src.link_to(split)
    split.link_to(paletteuse, 0, 0)
    split.link_to(palettegen, 1, 0)
    palettegen.link_to(paletteuse, 0, 1)
    paletteuse.link_to(sink)
    graph.configure()
    for i, image in enumerate(arr):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = i
        graph.push(frame)
    graph.push(None)
    quantized: list[av.VideoFrame] = []
    while True:
        try:
            quantized.append(cast(av.VideoFrame, graph.pull()))
        except (av.error.BlockingIOError, av.error.EOFError):
            break
    with av.open(str(path), mode="w", format="gif") as container:
        stream = container.add_stream("gif", rate=rate)
        stream.width, stream.height = w, h
        stream.pix_fmt = "pal8"
        for frame in quantized:
            frame.pts = None
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


# ------------------------------------------------------------ audio tracks (also multigan.io.audio)

AUDIO_BIT_RATE = 128_000  # AAC and Opus tracks in videos
MAX_AUDIO_CHANNELS = 8
_LAYOUTS = {1: "mono", 2: "stereo"}


def _is_positive_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and bool(value > 0)


def _as_waveform(waveform, error: type[MultiganError], *, max_channels: int = MAX_AUDIO_CHANNELS) -> np.ndarray:
    """A float tensor or array, (samples,) or (channels, samples), as contiguous float32 (channels,
    samples) clamped to [-1, 1]; `error` for another dtype or shape, no samples, or NaN/inf."""
    if isinstance(waveform, torch.Tensor):
        if not waveform.is_floating_point():
            raise error(f"audio must be a float waveform in [-1, 1], got dtype {waveform.dtype}")
        arr = waveform.detach().cpu().float().numpy()
    else:
        arr = np.asarray(waveform)
        if not np.issubdtype(arr.dtype, np.floating):
            raise error(f"audio must be a float waveform in [-1, 1], got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or not 1 <= arr.shape[0] <= max_channels or arr.shape[1] == 0:
        raise error(
            f"audio must have shape (samples,) or (channels, samples) with 1 to {max_channels} channels and "
            f"at least one sample, got {tuple(np.shape(waveform))}"
        )
    if not np.isfinite(arr).all():
        raise error("audio holds NaN or infinite values")
    return np.ascontiguousarray(np.clip(arr, -1.0, 1.0), dtype=np.float32)


def _fit_length(wave: np.ndarray, samples: int) -> np.ndarray:
    """(channels, samples) cut or zero-padded at the end to `samples` samples."""
    if wave.shape[1] >= samples:
        return np.ascontiguousarray(wave[:, :samples])
    return np.pad(wave, ((0, 0), (0, samples - wave.shape[1])))


def _channel_layout(channels: int) -> str:
    return _LAYOUTS.get(channels, f"{channels}c")  # "Nc": FFmpeg's default layout for N channels


class _AudioTrack:
    """An audio stream being encoded from float (channels, samples) chunks at `sample_rate`.

    The stream runs at `rate` if given, else at `sample_rate` when the codec takes it and at 48 kHz
    when it does not; chunks are resampled (av.AudioResampler) when the two differ. Timestamps
    count samples from 0. The encoder converts the float samples to its own sample format.
    """

    def __init__(
        self,
        container: OutputContainer,
        codec: str,
        sample_rate: int,
        channels: int,
        *,
        rate: int | None = None,
        bit_rate: int | None = None,
        sample_format: str | None = None,
    ) -> None:
        if rate is None:
            rates = av.Codec(codec, "w").audio_rates
            rate = sample_rate if not rates or sample_rate in rates else 48_000
        self.layout = _channel_layout(channels)
        self.stream = cast(AudioStream, container.add_stream(codec, rate=rate, layout=self.layout))
        if bit_rate is not None:
            self.stream.bit_rate = bit_rate
        if sample_format is not None:
            self.stream.format = sample_format
        self.sample_rate, self.rate = sample_rate, rate
        self.resampler = None if rate == sample_rate else av.AudioResampler("fltp", self.layout, rate)
        self.samples_in = self.samples_out = 0

    def encode(self, chunk: np.ndarray) -> list[av.Packet]:
        if chunk.shape[1] == 0:
            return []
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=self.layout)
        frame.sample_rate = self.sample_rate
        frame.pts, frame.time_base = self.samples_in, Fraction(1, self.sample_rate)
        self.samples_in += chunk.shape[1]
        return self._encode(self.resampler.resample(frame) if self.resampler else [frame])

    def flush(self) -> list[av.Packet]:
        packets = self._encode(self.resampler.resample(None)) if self.resampler else []
        return packets + self.stream.encode(None)

    def _encode(self, frames: list[av.AudioFrame]) -> list[av.Packet]:
        packets = []
        for frame in frames:
            frame.pts, frame.time_base = self.samples_out, Fraction(1, self.rate)
            self.samples_out += frame.samples
            packets += self.stream.encode(frame)
        return packets
