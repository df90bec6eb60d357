"""VideoClips over a folder of user videos, and the moving-digits default data."""

import json
import os
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import multigan.io.video as video_io
import multigan.video.data as data
from multigan.core.errors import MultiganError
from multigan.io.video import probe, read_video, write_video
from multigan.video.data import MovingDigits, VideoClips, find_videos, make_moving_digits, moving_digits_clip


def frames(t, h=8, w=8, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (1, h, w, 3))
    return np.clip(base + np.arange(t)[:, None, None, None] * 8, 0, 255).astype(np.uint8)


@pytest.fixture
def folder(tmp_path):
    """3 good videos (8, 6 and 7 frames), 3 bad ones, and files the dataset must ignore."""
    root = tmp_path / "videos"
    write_video(root / "a.mp4", frames(8))
    write_video(root / "sub" / "b.webm", frames(6, seed=1))
    write_video(root / "sub" / "deeper" / "c.gif", frames(7, seed=2))
    (root / "garbage.mp4").write_bytes(os.urandom(2000))
    (root / "empty.mkv").write_bytes(b"")
    whole = write_video(tmp_path / "whole.mp4", frames(8)).read_bytes()
    (root / "sub" / "truncated.mov").write_bytes(whole[: len(whole) // 3])
    (root / "notes.txt").write_text("not a video")
    write_video(root / ".hidden.mp4", frames(8))
    return root


def test_find_videos_is_recursive_sorted_and_skips_hidden_and_other_files(folder):
    names = [p.relative_to(folder).as_posix() for p in find_videos(folder)]
    assert names == ["a.mp4", "empty.mkv", "garbage.mp4", "sub/b.webm", "sub/truncated.mov", "sub/deeper/c.gif"]


def test_clips_skip_undecodable_files_with_a_warning_and_count_them(folder, capsys):
    ds = VideoClips(folder, 4)
    skipped = sorted(os.path.basename(p) for p, _ in ds.skipped)
    assert skipped == ["empty.mkv", "garbage.mp4", "truncated.mov"]
    lines = capsys.readouterr().err.splitlines()
    named = sorted(os.path.basename(line.removeprefix("warning: skipped ").split(": ")[0]) for line in lines)
    assert named == skipped
    assert all(line.startswith(f"warning: skipped {folder}") and "cannot decode video" not in line for line in lines)
    assert len(ds) == (8 - 3) + (6 - 3) + (7 - 3)  # every start of a 4-frame clip
    item = ds[0]
    assert item.shape == (4, 3, 8, 8) and item.dtype == torch.uint8


def test_stride_step_size_and_gray(folder):
    ds = VideoClips(folder, 3, frame_stride=2, clip_step=2, size=(4, 6), gray=True, quiet=True)
    # spans of 5 frames, a start every 2 frames: a.mp4 (8) -> 0, 2; b.webm (6) -> 0; c.gif (7) -> 0, 2
    assert ds.clips == [(0, 0), (0, 2), (1, 0), (2, 0), (2, 2)]
    assert ds[1].shape == (3, 1, 4, 6)


def test_clip_content_matches_the_file(folder):
    ds = VideoClips(folder, 2, frame_stride=3, quiet=True)
    whole = read_video(folder / "a.mp4")
    assert torch.equal(ds[1], whole[[1, 4]].permute(0, 3, 1, 2))


def test_the_index_is_cached_and_refreshed_for_changed_files(folder, monkeypatch):
    first = VideoClips(folder, 4, quiet=True)
    assert (folder / data.INDEX_NAME).is_file()
    calls = []
    monkeypatch.setattr(data, "probe", lambda path, **kw: calls.append(path) or probe(path, **kw))
    again = VideoClips(folder, 4, quiet=True)
    assert calls == [] and again.clips == first.clips and len(again.skipped) == 3
    write_video(folder / "a.mp4", frames(10))  # new size and mtime: indexed again
    third = VideoClips(folder, 4, quiet=True)
    assert [os.path.basename(p) for p in calls] == ["a.mp4"]
    assert len(third) == len(first) + 2


def test_the_index_can_live_elsewhere_or_nowhere(folder, tmp_path):
    VideoClips(folder, 4, cache=tmp_path / "index.json", quiet=True)
    assert json.loads((tmp_path / "index.json").read_text())["files"]
    VideoClips(folder, 4, cache=False, quiet=True)
    assert not (folder / data.INDEX_NAME).exists()


def test_too_short_files_are_reported_and_an_empty_dataset_is_an_error(folder, capsys):
    ds = VideoClips(folder, 7)
    assert any(
        "1 of 6 videos" in line and "shorter than one clip" in line for line in capsys.readouterr().err.splitlines()
    )
    assert [os.path.basename(p) for p in ds.too_short] == ["b.webm"]
    with pytest.raises(MultiganError, match="no clips of 20 frames"):
        VideoClips(folder, 20, quiet=True)
    with pytest.raises(MultiganError, match="does not exist"):
        VideoClips(folder / "nope", 2)


def test_a_file_that_breaks_after_indexing_is_skipped_at_read_time(folder, capsys):
    ds = VideoClips(folder, 4, quiet=True)
    (folder / "a.mp4").write_bytes(b"broken now")
    item = ds[0]  # served from the next clip that decodes
    assert capsys.readouterr().err.startswith(f"warning: skipped a clip of {folder / 'a.mp4'}: ")
    assert item.shape == (4, 3, 8, 8)


def test_works_with_dataloader_workers(folder):
    ds = VideoClips(folder, 4, quiet=True)
    pickle.dumps(ds)  # no open containers held
    # spawn: the worker starts from a pickled dataset in a fresh interpreter (a forked worker of this
    # many-threaded test process once hung on a lock held at fork time)
    batches = list(DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn"))
    assert sum(len(b) for b in batches) == len(ds)
    assert batches[0].shape == (4, 4, 3, 8, 8)


@pytest.mark.parametrize(
    "kw", [{}, {"frame_stride": 2, "clip_step": 2}, {"size": (4, 6), "gray": True}], ids=["plain", "strided", "resized"]
)
def test_clips_kept_in_memory_equal_the_clips_decoded_one_by_one(folder, kw):
    decoded = VideoClips(folder, 3, quiet=True, **kw)
    kept = VideoClips(folder, 3, quiet=True, memory_mb=1, **kw)
    assert kept.clips == decoded.clips
    for i in range(len(decoded)):
        assert torch.equal(kept[i], decoded[i]), i
    assert sorted(kept.in_memory) == [0, 1, 2]


def test_a_file_kept_in_memory_decodes_once_and_each_item_is_a_copy(folder, monkeypatch):
    ds = VideoClips(folder, 4, quiet=True, memory_mb=1)
    calls = []
    monkeypatch.setattr(data, "read_video", lambda path, **kw: calls.append(path) or read_video(path, **kw))
    for _ in range(2):
        for i in range(len(ds)):
            ds[i]
    assert len(calls) == len(ds.files) == 3
    item = ds[0]
    item.zero_()
    assert ds[0].any()


def test_files_beyond_the_memory_budget_are_decoded_clip_by_clip(folder, monkeypatch):
    ds = VideoClips(folder, 4, quiet=True, memory_mb=1)
    ds.memory_left = ds.decoded_bytes[0]  # room for a.mp4 only
    calls = []
    monkeypatch.setattr(
        data, "read_video", lambda path, **kw: calls.append(os.path.basename(path)) or read_video(path, **kw)
    )
    items = [ds[i] for i in range(len(ds))]
    assert list(ds.in_memory) == [0] and ds.memory_left == 0
    assert calls == ["a.mp4"] + ["b.webm"] * 3 + ["c.gif"] * 4
    assert all(item.shape == (4, 3, 8, 8) for item in items)
    with pytest.raises(ValueError, match="memory_mb"):
        VideoClips(folder, 4, quiet=True, memory_mb=-1)


def test_a_second_process_making_the_same_moving_digits_meanwhile_does_not_clash(tmp_path, monkeypatch):
    # Two runs (or a benchmark's jobs) started on an empty cache wrote the same temporary files,
    # and one crashed. Here the other process's whole build runs while ours encodes its first video.
    cfg = MovingDigits(train_videos=3, test_videos=2, frames=6, size=32, digit_size=12)
    encode, others = video_io._encode, []

    def encode_while_another_builds(*args, **kw):
        encode(*args, **kw)
        if not others:
            others.append(None)
            others[0] = make_moving_digits(cfg, tmp_path)

    monkeypatch.setattr(video_io, "_encode", encode_while_another_builds)
    root = make_moving_digits(cfg, tmp_path)
    assert others == [root] and sorted(p.name for p in tmp_path.iterdir()) == [root.name]
    assert sorted(p.name for p in (root / "train").iterdir()) == ["00000.mp4", "00001.mp4", "00002.mp4"]
    assert probe(root / "train" / "00000.mp4").frames == 6


def test_moving_digits_clips_are_deterministic_and_stay_inside_the_frame():
    cfg = MovingDigits(frames=12, size=32, digit_size=12)
    sprites = np.ones((3, 12, 12), np.float32)
    a = moving_digits_clip(sprites, cfg, np.random.default_rng(0))
    b = moving_digits_clip(sprites, cfg, np.random.default_rng(0))
    c = moving_digits_clip(sprites, cfg, np.random.default_rng(1))
    assert a.shape == (12, 32, 32) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # Two full 12x12 squares are always drawn (overlapping or not), and they move.
    assert all(144 <= (f == 255).sum() <= 288 for f in a)
    assert not np.array_equal(a[0], a[-1])


def test_make_moving_digits_writes_once_and_reads_back_through_the_loader(tmp_path):
    cfg = MovingDigits(train_videos=3, test_videos=2, frames=6, size=32, digit_size=12)
    root = make_moving_digits(cfg, tmp_path)
    assert sorted(p.name for p in (root / "train").iterdir()) == ["00000.mp4", "00001.mp4", "00002.mp4"]
    assert len(list((root / "test").iterdir())) == 2
    info = probe(root / "train" / "00000.mp4")
    assert (info.frames, info.height, info.width) == (6, 32, 32)
    stamp = (root / "train" / "00000.mp4").stat().st_mtime_ns
    assert make_moving_digits(cfg, tmp_path) == root
    assert (root / "train" / "00000.mp4").stat().st_mtime_ns == stamp
    ds = VideoClips(root / "train", 6, gray=True, quiet=True)
    assert len(ds) == 3 and ds[0].shape == (6, 1, 32, 32)
    assert ds[0].float().max() > 200  # digits are bright on black
