"""Video data: a folder of clips (the user's videos) and the embedded moving-digits default.

`VideoClips` indexes a folder (recursively) of mp4, webm, mkv, avi, mov and gif files into clips of
`clip_len` frames taken every `frame_stride` frames, one clip starting every `clip_step` frames.
The index (frame count and size per file) is built once and cached in a JSON file keyed by each
file's size and modification time, so a second run over the same folder decodes nothing until
training starts. Files that cannot be decoded are skipped with a warning and listed in
`dataset.skipped`. The dataset holds no open file (every item opens, reads and closes its video),
so it works with DataLoader workers. Items are uint8 tensors (T, C, H, W); the adapter moves
them to the device before turning them into floats in [-1, 1].

`make_moving_digits` writes the default data: scikit-learn's 8x8 handwritten digits, upscaled,
two per clip, bouncing inside a 64x64 frame, 20 frames per clip, deterministic from a seed,
encoded to mp4 through multigan.io.video and read back through `VideoClips` like any user video.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from multigan.core.data import build_folder_once
from multigan.core.data import cache_dir as core_cache_dir
from multigan.core.digits import raw_digits
from multigan.core.errors import ConfigError, MultiganError, warn, warn_skipped
from multigan.io.video import DEFAULT_MAX_PIXELS, VIDEO_EXTENSIONS, VideoDecodeError, probe, read_video, write_video
from multigan.video.captions import CAPTIONS_FILE

INDEX_VERSION = 1
INDEX_NAME = ".multigan-video-index.json"


def find_videos(root: str | os.PathLike) -> list[Path]:
    """Video files under root (recursive, sorted), skipping hidden files and folders."""
    root = Path(root)
    if root.is_file():
        return [root] if root.suffix.lower() in VIDEO_EXTENSIONS else []
    if not root.is_dir():
        raise MultiganError(f"video folder {str(root)!r} does not exist")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return found


class VideoClips(Dataset):
    """Clips of `clip_len` frames from every video under `root`, as uint8 tensors (T, C, H, W).

    size: (h, w) every frame is resized to (keeping the aspect ratio, then cutting the centre);
    None keeps each file's own size (then all files must share one size to be batched).
    verify: decode every frame while indexing (exact frame counts; a corrupt file is found now
    rather than mid-training). cache: where the index lives; None puts it in `root`, False
    keeps it in memory only. memory_mb: up to this many MB of whole files are kept decoded in
    memory, so that a file is decoded once rather than once per clip (per process: each DataLoader
    worker keeps its own copy, for as long as the worker lives); files beyond the budget are
    decoded clip by clip; 0: none.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        clip_len: int,
        *,
        frame_stride: int = 1,
        clip_step: int | None = None,
        size: tuple[int, int] | None = None,
        gray: bool = False,
        verify: bool = True,
        cache: str | os.PathLike | bool | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        quiet: bool = False,
        memory_mb: int = 0,
    ):
        if clip_len < 1 or frame_stride < 1 or (clip_step is not None and clip_step < 1):
            raise ValueError("clip_len, frame_stride and clip_step must be >= 1")
        if memory_mb < 0:
            raise ValueError(f"memory_mb must be 0 (off) or more, got {memory_mb}")
        self.root = Path(root)
        self.clip_len, self.frame_stride = clip_len, frame_stride
        self.clip_step = clip_step or 1
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.gray, self.max_pixels = gray, max_pixels
        files = find_videos(self.root)
        entries = self._index(files, verify, cache)
        self.files: list[str] = []
        self.decoded_bytes: list[int] = []  # per file: frames x height x width x channels once decoded
        self.skipped: list[tuple[str, str]] = []
        self.too_short: list[str] = []
        clips: list[tuple[int, int]] = []
        span = (clip_len - 1) * frame_stride + 1
        for path in files:
            entry = entries[str(path)]
            if entry.get("error"):
                self.skipped.append((str(path), entry["error"]))
                continue
            if entry["frames"] < span:
                self.too_short.append(str(path))
                continue
            self.files.append(str(path))
            height, width = self.size or (entry["height"], entry["width"])
            self.decoded_bytes.append(entry["frames"] * height * width * (1 if gray else 3))
            clips += [(len(self.files) - 1, s) for s in range(0, entry["frames"] - span + 1, self.clip_step)]
        self.clips = clips
        self.memory_left = memory_mb * 2**20
        self.in_memory: dict[int, torch.Tensor] = {}  # file index -> its frames, uint8 (T, H, W, C)
        if not quiet:
            warn_skipped([(path, _short_reason(reason)) for path, reason in self.skipped], "videos")
            if self.too_short:
                warn(
                    f"{len(self.too_short)} of {len(files)} videos under {str(self.root)!r} are shorter than "
                    f"one clip ({span} frames)"
                )
        if not clips:
            raise MultiganError(
                f"no clips of {clip_len} frames (stride {frame_stride}) in {str(self.root)!r}: {len(files)} "
                f"video files, {len(self.skipped)} undecodable, {len(self.too_short)} too short"
            )

    # ------------------------------------------------------------------------------------ index

    def _index(self, files: list[Path], verify: bool, cache) -> dict[str, dict]:
        """{path: {"frames", "height", "width", "fps"} or {"error"}} for every file, cached."""
        cache_path = None
        if cache is not False:
            cache_path = Path(cache) if cache not in (None, True) else self._default_cache()
        stored = _load_index(cache_path, verify, self.max_pixels)
        entries, changed = {}, False
        for path in files:
            st = path.stat()
            key = _file_key(path, self.root)
            old = stored.get(key)
            if old is not None and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
                entries[str(path)] = old
                continue
            try:
                info = probe(path, exact=verify, max_pixels=self.max_pixels)
                entry: dict[str, Any] = {"frames": info.frames, "height": info.height, "width": info.width}
                entry["fps"] = info.fps
            except VideoDecodeError as e:
                entry = {"error": str(e)}
            entry.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
            entries[str(path)] = entry
            stored[key] = entry
            changed = True
        if cache_path is not None and changed:
            _save_index(cache_path, stored, verify, self.max_pixels)
        return entries

    def _default_cache(self) -> Path:
        return (self.root if self.root.is_dir() else self.root.parent) / INDEX_NAME

    # ------------------------------------------------------------------------------------ items

    def __len__(self) -> int:
        return len(self.clips)

    def _from_memory(self, file_index: int, start: int) -> torch.Tensor | None:
        """The clip sliced (a view) from its file's decoded frames, decoding the whole file first if the
        memory budget still has room for it; None when it has not (or the file came up short)."""
        frames = self.in_memory.get(file_index)
        if frames is None:
            if self.decoded_bytes[file_index] > self.memory_left:
                return None
            frames = read_video(self.files[file_index], size=self.size, gray=self.gray, max_pixels=self.max_pixels)
            self.in_memory[file_index] = frames
            self.memory_left -= frames.numel()
        clip = frames[start : start + (self.clip_len - 1) * self.frame_stride + 1 : self.frame_stride]
        return clip if len(clip) == self.clip_len else None

    def __getitem__(self, i: int) -> torch.Tensor:
        # A file that decoded while indexing but fails now (changed on disk, or not verified):
        # warn and serve the following clips rather than take the run down.
        for attempt in range(min(len(self.clips), 16)):
            file_index, start = self.clips[(i + attempt) % len(self.clips)]
            path = self.files[file_index]
            try:
                frames = self._from_memory(file_index, start)
                if frames is None:
                    frames = read_video(
                        path,
                        start=start,
                        num_frames=self.clip_len,
                        stride=self.frame_stride,
                        size=self.size,
                        gray=self.gray,
                        max_pixels=self.max_pixels,
                    )
            except VideoDecodeError as e:
                warn(f"skipped a clip of {path}: {_short_reason(str(e))}")
                continue
            # (T, C, H, W) uint8, always a copy: a clip kept in memory is a view of its whole file
            return frames.permute(0, 3, 1, 2).clone(memory_format=torch.contiguous_format)
        raise MultiganError(f"could not decode any of 16 clips from clip {i} on under {str(self.root)!r}")


class CaptionedClips(Dataset):
    """`VideoClips` items paired with their video's caption: (uint8 (T, C, H, W), caption or None)."""

    def __init__(self, clips: VideoClips, captions: dict[str, str]) -> None:
        self.clips, self.captions = clips, captions

    def __len__(self) -> int:
        return len(self.clips)

    def caption(self, i: int) -> str | None:
        return self.captions.get(self.clips.files[self.clips.clips[i][0]])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str | None]:
        return self.clips[i], self.caption(i)


def _short_reason(message: str) -> str:
    """A decode error's reason without the file name, which the warning already gives."""
    return re.sub(r"^(cannot decode video|refusing video) '.*': ", "", message)


def _file_key(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())


def _index_params(verify: bool, max_pixels: int | None) -> dict:
    return {"version": INDEX_VERSION, "verify": verify, "max_pixels": max_pixels}


def _load_index(path: Path | None, verify: bool, max_pixels: int | None) -> dict[str, dict]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("params") != _index_params(verify, max_pixels):
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _save_index(path: Path, files: dict[str, dict], verify: bool, max_pixels: int | None) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"params": _index_params(verify, max_pixels), "files": files}))
        os.replace(tmp, path)
    except OSError as e:  # a read-only data folder: index again next time
        warn(f"could not cache the video index at {str(path)!r}: {e}")


# --------------------------------------------------------------------------------- moving digits


# Caption grammars of the moving digits (Sync-DRAW's single digit, TGANs-C's two digits). A motion
# is an axis: 0 = "left and right", 1 = "up and down" (multigan.metrics.motion's HORIZONTAL, VERTICAL).
GRAMMARS = ("", "single", "two")
GRAMMAR_VERSION = 2  # part of a captioned set's cache name: bumped when the clips change
MOTIONS = ("left and right", "up and down")
_PAIR = re.compile(r"(\d)\s+moves\s+(" + "|".join(MOTIONS) + ")")


def seen_pair(digit: int, motion: int) -> bool:
    """The compositional split: training clips show a (digit, motion) pair only when this is true.
    Every digit is seen with one motion and every motion with five digits; the other ten pairs
    are held out (Sync-DRAW splits its 20 pairs in half the same way)."""
    return (digit + motion) % 2 == 0


def caption_of(pairs: Sequence[tuple[int, int]]) -> str:
    """[(3, 1)] -> "the digit 3 moves up and down"; two pairs -> "digit 7 moves ... and digit 5 moves ..."."""
    if len(pairs) == 1:
        return f"the digit {pairs[0][0]} moves {MOTIONS[pairs[0][1]]}"
    return " and ".join(f"digit {d} moves {MOTIONS[m]}" for d, m in pairs)


def parse_caption(caption: str) -> list[tuple[int, int]]:
    """The (digit, motion) pairs a grammar caption (or keywords such as "3 moves up and down") names."""
    return [(int(d), MOTIONS.index(m)) for d, m in _PAIR.findall(caption.lower())]


@dataclass(frozen=True)
class MovingDigits:
    """Parameters of the moving-digits set (all of them go into the cache folder's name).

    grammar "": `digits_per_clip` digits bouncing in random directions, no captions (the default
    run). "single" / "two": one or two digits, each moving along one axis at `max_speed` (px per
    frame at 64 px, scaled with `size`), first right or down (so a first frame and a caption fix
    the whole clip), with a caption per clip in captions.csv; training clips use only `seen_pair` pairs, held-out clips
    every pair.
    """

    train_videos: int = 1000
    test_videos: int = 100
    frames: int = 20
    size: int = 64
    digit_size: int = 24  # sklearn's 8x8 digits, upscaled 3x
    digits_per_clip: int = 2
    min_speed: float = 2.0  # pixels per frame
    max_speed: float = 4.0
    fps: int = 10
    seed: int = 0
    grammar: str = ""

    def __post_init__(self) -> None:
        if self.grammar not in GRAMMARS:
            raise ConfigError(f"data.grammar: must be one of {', '.join(map(repr, GRAMMARS))}, got {self.grammar!r}")

    def key(self) -> str:
        fields = asdict(self)
        if not self.grammar:  # the uncaptioned set keeps the cache name it had before grammars
            del fields["grammar"]
        else:
            fields["grammar_version"] = GRAMMAR_VERSION
        return hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]


def _digit_sprites(digit_size: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Upscaled digit images in [0, 1] and their labels, split into training (4/5) and held-out
    (1/5) writers: ((train images, train labels), (held-out images, held-out labels))."""
    images, labels = raw_digits()
    upscaled = F.interpolate(images[:, None], size=(digit_size, digit_size), mode="bicubic", align_corners=False)
    big, labels_np = upscaled.clamp(0, 1)[:, 0].numpy(), labels.numpy()
    held_out = np.arange(len(big)) % 5 == 0
    return (big[~held_out], labels_np[~held_out]), (big[held_out], labels_np[held_out])


def _bounce(pos: np.ndarray, vel: np.ndarray, room: float) -> None:
    for d in range(2):
        if pos[d] < 0:
            pos[d], vel[d] = -pos[d], -vel[d]
        elif pos[d] > room:
            pos[d], vel[d] = 2 * room - pos[d], -vel[d]


def _paint(canvas: np.ndarray, sprite: np.ndarray, pos: np.ndarray, vel: np.ndarray, room: float) -> None:
    size = sprite.shape[0]
    for t in range(canvas.shape[0]):
        y, x = np.round(pos).astype(int)
        patch = canvas[t, y : y + size, x : x + size]
        np.maximum(patch, sprite, out=patch)
        pos += vel
        _bounce(pos, vel, room)


def moving_digits_clip(sprites: np.ndarray, cfg: MovingDigits, rng: np.random.Generator) -> np.ndarray:
    """One clip (T, H, W) uint8: `digits_per_clip` digits bouncing off the walls, combined by max."""
    canvas = np.zeros((cfg.frames, cfg.size, cfg.size), dtype=np.float32)
    room = cfg.size - cfg.digit_size
    for _ in range(cfg.digits_per_clip):
        sprite = sprites[rng.integers(len(sprites))]
        pos = rng.uniform(0, room, size=2)
        angle = rng.uniform(0, 2 * np.pi)
        vel = rng.uniform(cfg.min_speed, cfg.max_speed) * np.array([np.cos(angle), np.sin(angle)])
        _paint(canvas, sprite, pos, vel, room)
    return (canvas * 255).round().astype(np.uint8)


def captioned_clip(
    sprites: np.ndarray,
    labels: np.ndarray,
    pairs: Sequence[tuple[int, int]],
    cfg: MovingDigits,
    rng: np.random.Generator,
) -> np.ndarray:
    """One clip (T, H, W) uint8 of the digits `pairs` name, each moving along its axis (0: x, 1: y)
    at cfg.max_speed pixels per frame of a 64 px frame (scaled with the frame size), first right
    (or down), bouncing off the walls."""
    canvas = np.zeros((cfg.frames, cfg.size, cfg.size), dtype=np.float32)
    room = cfg.size - cfg.digit_size
    speed = cfg.max_speed * cfg.size / 64
    for digit, motion in pairs:
        choices = np.flatnonzero(labels == digit)
        sprite = sprites[choices[rng.integers(len(choices))]]
        pos = rng.uniform(0, room, size=2)  # (y, x)
        axis = 1 - motion  # horizontal motion moves x (index 1), vertical y (index 0)
        vel = np.zeros(2)
        vel[axis] = speed  # first right or down: a conv net cannot tell the middle of the frame from afar
        _paint(canvas, sprite, pos, vel, room)
    return (canvas * 255).round().astype(np.uint8)


def _grammar_pairs(cfg: MovingDigits, rng: np.random.Generator, i: int, train: bool) -> list[tuple[int, int]]:
    """Training clips draw seen pairs at random; held-out clips go through all 20 pairs in turn
    (single digit), or draw any pairs (two digits)."""
    all_pairs = [(d, m) for d in range(10) for m in range(2)]
    seen = [p for p in all_pairs if seen_pair(*p)]
    n = 1 if cfg.grammar == "single" else 2
    if not train and n == 1:
        return [all_pairs[i % len(all_pairs)]]
    pool = seen if train else all_pairs
    return [pool[k] for k in rng.integers(len(pool), size=n)]


def make_moving_digits(cfg: MovingDigits = MovingDigits(), cache_dir: str | os.PathLike | None = None) -> Path:
    """Write (once) train/ and test/ folders of moving-digit mp4s; returns the folder holding them.

    Train clips use 4/5 of the digits' writers, test clips the other fifth. With a grammar, each
    folder also gets a captions.csv (`file,caption`). The folder's name carries a hash of the
    parameters; a `done.json` written last marks a complete set.
    """
    root = Path(cache_dir) if cache_dir is not None else core_cache_dir()
    return build_folder_once(root / f"moving_digits_{cfg.key()}", lambda out: _write_moving_digits(cfg, out))


def _write_moving_digits(cfg: MovingDigits, out: Path) -> None:
    train_sprites, test_sprites = _digit_sprites(cfg.digit_size)
    for split, (sprites, labels), n, offset in (
        ("train", train_sprites, cfg.train_videos, 0),
        ("test", test_sprites, cfg.test_videos, 1),
    ):
        rng = np.random.default_rng([cfg.seed, offset])
        folder = out / split
        rows = []
        for i in range(n):
            if cfg.grammar:
                pairs = _grammar_pairs(cfg, rng, i, split == "train")
                clip = captioned_clip(sprites, labels, pairs, cfg, rng)
                rows.append((f"{i:05d}.mp4", caption_of(pairs)))
            else:
                clip = moving_digits_clip(sprites, cfg, rng)
            write_video(folder / f"{i:05d}.mp4", clip, fps=cfg.fps, crf=12)
        if rows:
            with open(folder / CAPTIONS_FILE, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows([("file", "caption"), *rows])
    (out / "done.json").write_text(json.dumps(asdict(cfg), indent=1))
