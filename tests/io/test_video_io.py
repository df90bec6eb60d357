"""multigan.io.video: round trips, partial reads, resizing, and every way a file can be refused."""

import math

import numpy as np
import pytest
import torch

from multigan.core.errors import MultiganError
from multigan.io.video import (
    VideoDecodeError,
    VideoEncodeError,
    probe,
    read_video,
    write_video,
)


def smooth_clip(t: int = 6, h: int = 16, w: int = 16) -> np.ndarray:
    """A soft blob drifting over a colour gradient: easy for lossy codecs, different every frame."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    frames = []
    for i in range(t):
        cy, cx = h / 2 + 2 * math.sin(i / 2), w / 4 + i * w / (2 * t)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (w / 6) ** 2))
        frames.append(np.stack([60 + 150 * blob, 40 + 5 * yy, 200 - 6 * xx], -1))
    return np.clip(np.stack(frames), 0, 255).round().astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean()
    return 10 * math.log10(255**2 / mse)


@pytest.mark.parametrize("ext", [".mp4", ".webm", ".gif"])
def test_round_trip_keeps_frames(tmp_path, ext):
    clip = smooth_clip()
    path = write_video(tmp_path / f"clip{ext}", clip, fps=12)
    back = read_video(path)
    assert back.dtype == torch.uint8 and back.shape == clip.shape
    assert psnr(back.numpy(), clip) > 30
    info = probe(path)
    assert (info.frames, info.height, info.width) == (6, 16, 16)
    assert info.fps == pytest.approx(12, rel=0.05 if ext == ".gif" else 1e-6)  # GIF delays are 1/100 s
    assert info.duration == pytest.approx(0.5, abs=0.1)


def test_odd_size_mp4_is_padded_to_even_and_keeps_the_picture(tmp_path):
    clip = smooth_clip(4, 15, 21)
    back = read_video(write_video(tmp_path / "odd.mp4", clip))
    assert back.shape == (4, 16, 22, 3)
    assert psnr(back[:, :15, :21].numpy(), clip) > 30


def test_odd_size_mp4_can_be_cropped_instead(tmp_path):
    clip = smooth_clip(4, 15, 21)
    back = read_video(write_video(tmp_path / "odd.mp4", clip, odd="crop"))
    assert back.shape == (4, 14, 20, 3)
    assert psnr(back.numpy(), clip[:, :14, :20]) > 30


@pytest.mark.parametrize("ext", [".webm", ".gif"])
def test_odd_size_webm_and_gif_keep_their_size(tmp_path, ext):
    clip = smooth_clip(3, 15, 21)
    assert read_video(write_video(tmp_path / f"odd{ext}", clip)).shape == (3, 15, 21, 3)


def test_gray_frames_write_and_read_as_one_channel(tmp_path):
    gray = smooth_clip()[..., :1]
    back = read_video(write_video(tmp_path / "g.mp4", gray), gray=True)
    assert back.shape == (6, 16, 16, 1)
    assert psnr(back.numpy(), gray) > 30


@pytest.mark.parametrize("ext", [".mp4", ".webm", ".gif"])
@pytest.mark.parametrize("seek_min_frames", [0, 10_000])  # seek by timestamp / decode from frame 0
def test_start_stride_and_count_pick_the_same_frames_as_a_full_read(tmp_path, ext, seek_min_frames):
    path = write_video(tmp_path / f"long{ext}", smooth_clip(30, 8, 8))
    full = read_video(path)
    for start, n, stride in [(0, 3, 1), (5, 4, 2), (17, 5, 3), (29, 1, 1)]:
        part = read_video(path, start=start, num_frames=n, stride=stride, seek_min_frames=seek_min_frames)
        assert torch.equal(part, full[start : start + n * stride : stride])
    assert torch.equal(read_video(path, start=25, seek_min_frames=seek_min_frames), full[25:])


def test_asking_past_the_end_raises(tmp_path):
    path = write_video(tmp_path / "short.mp4", smooth_clip(4, 8, 8))
    with pytest.raises(VideoDecodeError, match="short.mp4.*wanted 5 frames"):
        read_video(path, num_frames=5)
    with pytest.raises(VideoDecodeError, match="no frames"):
        read_video(path, start=9)


def test_resize_happens_in_ffmpeg_with_centre_crop_or_stretch(tmp_path):
    # 8 rows x 24 columns: red | green | blue thirds.
    frame = np.zeros((8, 24, 3), np.uint8)
    frame[:, :8, 0] = frame[:, 8:16, 1] = frame[:, 16:, 2] = 255
    path = write_video(tmp_path / "thirds.webm", np.stack([frame] * 2), crf=4)
    crop = read_video(path, size=(4, 4)).float()
    assert crop.shape == (2, 4, 4, 3)
    assert crop[..., 1].mean() > 200 and crop[..., 0].mean() < 40 and crop[..., 2].mean() < 40
    stretch = read_video(path, size=(4, 6), resize="stretch").float()
    assert stretch.shape == (2, 4, 6, 3)
    assert stretch[:, :, 0, 0].mean() > 200 and stretch[:, :, -1, 2].mean() > 200
    assert read_video(path, size=(4, 4), gray=True).shape == (2, 4, 4, 1)


def _error_message(exc_info) -> str:
    return str(exc_info.value)


@pytest.mark.parametrize(
    "name, content",
    [
        ("garbage.mp4", bytes(range(256)) * 40),
        ("empty.webm", b""),
        ("text.gif", b"this is not a gif at all\n" * 10),
    ],
)
def test_files_that_are_not_video_raise_the_projects_error_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    for fn in (read_video, probe):
        with pytest.raises(VideoDecodeError) as info:
            fn(path)
        assert name in _error_message(info) and "\n" not in _error_message(info)
    assert issubclass(VideoDecodeError, MultiganError)


@pytest.mark.parametrize("ext", [".mp4", ".webm"])
def test_truncated_files_raise_or_come_up_short(tmp_path, ext):
    path = write_video(tmp_path / f"whole{ext}", smooth_clip(12, 16, 16))
    data = path.read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError, match=f"cut{ext}"):
        read_video(cut, num_frames=12)


def test_missing_file(tmp_path):
    with pytest.raises(VideoDecodeError, match="no such file"):
        read_video(tmp_path / "nope.mp4")


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a.mp4",
        "https://example.com/a.mp4",
        "rtmp://example.com/live",
        "concat:a.mp4|b.mp4",
        "pipe:0",
        "file:a.mp4",
        "subfile,,start,0,end,10,,:a.mp4",
    ],
)
def test_urls_and_protocols_are_refused(url):
    with pytest.raises(VideoDecodeError, match="only local"):
        read_video(url)


def test_playlists_are_refused_even_under_a_video_name(tmp_path):
    clip = write_video(tmp_path / "a.mp4", smooth_clip(3, 8, 8))
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXTINF:1,\n{clip}\n#EXT-X-ENDLIST\n")
    with pytest.raises(VideoDecodeError, match="playlists"):
        read_video(playlist)
    disguised = tmp_path / "disguised.mp4"  # an FFmpeg concat script with a video's name
    disguised.write_text(f"ffconcat version 1.0\nfile '{clip}'\n")
    with pytest.raises(VideoDecodeError, match="disguised.mp4"):
        read_video(disguised)


def test_frames_over_the_pixel_limit_are_refused_before_decoding(tmp_path):
    path = write_video(tmp_path / "big.mp4", smooth_clip(2, 16, 16))
    with pytest.raises(VideoDecodeError, match="16x16 exceed the limit of 255 pixels"):
        read_video(path, max_pixels=255)
    with pytest.raises(VideoDecodeError, match="exceed"):
        probe(path, max_pixels=255)
    assert read_video(path, max_pixels=256).shape[0] == 2


def test_exact_probe_counts_decoded_frames(tmp_path):
    path = write_video(tmp_path / "n.webm", smooth_clip(7, 8, 8))
    assert probe(path, exact=True).frames == probe(path).frames == 7


@pytest.mark.parametrize(
    "frames, match",
    [
        (np.zeros((2, 8, 8, 3), np.float32), "uint8"),
        (np.zeros((2, 8, 8, 2), np.uint8), "shape"),
        (np.zeros((0, 8, 8, 3), np.uint8), "shape"),
    ],
)
def test_bad_frames_are_refused(tmp_path, frames, match):
    with pytest.raises(VideoEncodeError, match=match):
        write_video(tmp_path / "x.mp4", frames)


def test_unknown_extension_is_refused_and_nothing_is_left_behind(tmp_path):
    with pytest.raises(VideoEncodeError, match=r"\.mp4, \.webm, \.gif"):
        write_video(tmp_path / "x.avi", smooth_clip(2, 8, 8))
    assert list(tmp_path.iterdir()) == []


def test_write_accepts_torch_tensors_and_creates_folders(tmp_path):
    path = write_video(tmp_path / "a" / "b" / "t.gif", torch.from_numpy(smooth_clip(2, 8, 8)))
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == ["t.gif"]
