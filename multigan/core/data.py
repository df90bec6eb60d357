"""An endless, resumable, rank-sharded stream of batches over any map-style Dataset.

Each epoch is a permutation drawn from (seed, epoch) alone, split across ranks (the role of a
DistributedSampler whose epoch is set); the stream's position is (epoch, batches taken), so a
resumed run skips straight to where it stopped without decoding the skipped items.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from multigan.core.errors import MultiganError


def cache_dir() -> Path:
    """Where multigan keeps what it generates once (moving digits, the digit classifier):
    $MULTIGAN_CACHE, else $XDG_CACHE_HOME/multigan, else ~/.cache/multigan."""
    base = os.environ.get("MULTIGAN_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "multigan")
    return Path(base).expanduser()


def build_folder_once(out: Path, build: Callable[[Path], None], marker: str = "done.json") -> Path:
    """`out`, made by `build(folder)` the first time: `build` fills a private folder beside `out`,
    writing `marker` last, and the folder is renamed into place whole. So processes that make the
    same cache at once (two runs, a benchmark's jobs) neither trip over each other's files nor read
    half a set: the first to finish wins, the others drop theirs. A folder without its marker (left
    by an interrupted build of an earlier version) is replaced."""
    if (out / marker).is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    tmp.mkdir()
    try:
        build(tmp)
        if not (tmp / marker).is_file():
            raise RuntimeError(f"building {out} wrote no {marker}")
        if out.exists() and not (out / marker).is_file():
            shutil.rmtree(out, ignore_errors=True)
        try:
            os.rename(tmp, out)
        except OSError:  # another process put a complete one in place first
            if not (out / marker).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def folder_labels(root: Path, files: list[Path]) -> tuple[list[str], list[int]]:
    """ImageFolder's convention for files under `root`: the first-level sub-folder names, sorted, are
    the classes (["all"] when every file sits directly in `root`), and each file's label is its
    sub-folder's index (0 directly in `root`)."""
    parts = [p.relative_to(root).parts for p in files]
    names = sorted({q[0] for q in parts if len(q) > 1})
    index = {name: i for i, name in enumerate(names)}
    return names or ["all"], [index[q[0]] if len(q) > 1 else 0 for q in parts]


class BatchStream:
    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        collate: Callable[[list[Any]], Any],
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        self.size = len(dataset)  # type: ignore[arg-type]
        if self.size == 0:
            raise MultiganError("the training data is empty: no usable examples were found")
        self.dataset, self.batch_size, self.collate = dataset, batch_size, collate
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.epoch, self.offset = 0, 0
        self._iter: Iterator[Any] | None = None

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """Index lists of this rank's batches in `epoch` (every rank gets the same number)."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.size, generator=g)
        per_rank = max(self.size // self.world_size, 1)
        if per_rank < self.batch_size:  # tiny data: repeat it so a batch is full
            reps = -(-self.batch_size * self.world_size // self.size)
            order = order.repeat(reps)
            per_rank = self.batch_size
        mine = order[self.rank :: self.world_size][:per_rank].tolist()
        n_batches = len(mine) // self.batch_size
        return [mine[i * self.batch_size : (i + 1) * self.batch_size] for i in range(n_batches)]

    def _start(self) -> None:
        batches = self.epoch_batches(self.epoch)[self.offset :]
        loader = DataLoader(
            self.dataset,
            batch_sampler=batches,
            collate_fn=self.collate,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            # A private generator: creating a loader must not move the global RNG (bit-exact resume).
            generator=torch.Generator().manual_seed(self.seed * 7919 + self.epoch),
        )
        self._iter = iter(loader)

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Any:
        if self._iter is None:
            self._start()
        try:
            batch = next(self._iter)  # type: ignore[arg-type]
        except StopIteration:
            self.epoch, self.offset = self.epoch + 1, 0
            self._start()
            batch = next(self._iter)  # type: ignore[arg-type]
        self.offset += 1
        return batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "offset": self.offset}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.offset = int(state["epoch"]), int(state["offset"])
        self._iter = None
