"""Translation data: two domains of RGB images, uint8 (N, 3, S, S), each split into training and held-out.

Embedded: the handwritten digits -> digits-M (each digit blended with a colour patch of a photo, as MNIST-M
does), paired and labelled. User data: a folder holding A/ and B/ with the same file names (paired), or two
folders (unpaired), held out by a seeded permutation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from multigan.core.digits import digit_images
from multigan.core.errors import MultiganError, warn, warn_skipped
from multigan.io.image import IMAGE_EXTENSIONS, list_images, read_images
from multigan.translate.config import TranslateDataConfig

MIN_IMAGES = 2  # per domain: one to train on, one held out


@dataclass
class Domains:
    """A translation run's images, uint8 (N, 3, S, S), RGB always (grayscale inputs are replicated)."""

    train_a: torch.Tensor
    train_b: torch.Tensor
    test_a: torch.Tensor  # held out: samples during training and `evaluate`
    test_b: torch.Tensor
    paired: bool  # train_a[i] pairs with train_b[i], and test_a[i] with test_b[i]
    labels_train_a: torch.Tensor | None = None  # digit labels (embedded data only), int64
    labels_train_b: torch.Tensor | None = None
    labels_test: torch.Tensor | None = None  # labels of test_a (and test_b: same digits)
    test_patches: torch.Tensor | None = None  # embedded: uint8 (n_test, 3, S, S) colour patch of each held-out sample
    skipped: int = 0  # files that could not be decoded, or (paired) names without a partner


def blend_digits(digits: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
    """MNIST-M's rule (Ganin et al. 2016): |patch - digit| per pixel and channel.
    digits uint8 (N, 1 or 3, S, S), patches uint8 (N, 3, S, S) -> uint8 (N, 3, S, S)."""
    return (patches.to(torch.int16) - digits.to(torch.int16)).abs().to(torch.uint8)


def colour_patches(n: int, size: int, seed: int = 0) -> torch.Tensor:
    """n uint8 (3, size, size) windows of the two photos scikit-learn ships (china.jpg, flower.jpg): photo,
    side in [size, 4 * size] (at most the photo's height) and place drawn from a private generator, then
    resized (PIL bicubic)."""
    from sklearn.datasets import load_sample_image

    photos = [Image.fromarray(load_sample_image(name)) for name in ("china.jpg", "flower.jpg")]
    width, height = photos[0].size
    hi = min(4 * size, height)
    lo = min(size, hi)
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(0, len(photos), (n,), generator=g)
    side = torch.randint(lo, hi + 1, (n,), generator=g)
    top = (torch.rand(n, generator=g, dtype=torch.float64) * (height - side + 1)).long()
    left = (torch.rand(n, generator=g, dtype=torch.float64) * (width - side + 1)).long()
    out = np.empty((n, size, size, 3), np.uint8)
    for i, (p, s, t, lft) in enumerate(zip(which.tolist(), side.tolist(), top.tolist(), left.tolist())):
        out[i] = np.asarray(photos[p].resize((size, size), Image.Resampling.BICUBIC, box=(lft, t, lft + s, t + s)))
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def digits_m(size: int) -> Domains:
    """The embedded default: digits (gray, replicated to RGB) -> digits-M, paired and labelled; every fifth
    sample (index % 5 == 0, as the video recipe holds out writers) is held out: 1,437 train, 360 test."""
    digits, labels = digit_images(size)
    patches = colour_patches(len(digits), size, seed=0)
    a, b = digits.expand(-1, 3, -1, -1).contiguous(), blend_digits(digits, patches)
    held = torch.arange(len(digits)) % 5 == 0
    return Domains(
        train_a=a[~held],
        train_b=b[~held],
        test_a=a[held],
        test_b=b[held],
        paired=True,
        labels_train_a=labels[~held],
        labels_train_b=labels[~held],
        labels_test=labels[held],
        test_patches=patches[held],
    )


def _split(n: int, heldout: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, test indices), each in file order: the first max(1, round(heldout * n)) of a seed-0
    permutation are held out, leaving at least one to train on."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    n_test = min(n - 1, max(1, round(heldout * n)))
    return order[n_test:].sort().values, order[:n_test].sort().values


def _stack(images: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(images).permute(0, 3, 1, 2).contiguous()


def _folder_images(key: str, root: Path) -> list[Path]:
    if not root.is_dir():
        raise MultiganError(f"{key}: {root} is not a folder")
    files = list_images(root)
    if not files:
        raise MultiganError(f"{key}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {root}")
    return files


def _read_domain(key: str, root: Path, size: int) -> tuple[torch.Tensor, int]:
    files = _folder_images(key, root)
    images, skipped = read_images(files, size, 3)
    warn_skipped(skipped, "images")
    if len(images) < MIN_IMAGES:
        raise MultiganError(
            f"{key}: {len(images)} of the {len(files)} images under {root} could be decoded; "
            f"a domain needs at least {MIN_IMAGES}"
        )
    return _stack(images), len(skipped)


def _paired(root: Path, size: int, heldout: float) -> Domains:
    if not root.is_dir():
        raise MultiganError(f"data.path: {root} is not a folder")
    missing = [side for side in ("A", "B") if not (root / side).is_dir()]
    if missing:
        raise MultiganError(
            f"data.path: {root} has no {' or '.join(m + '/' for m in missing)} folder (paired data: A/ and B/ "
            "holding files of the same names)"
        )
    names_a = {p.relative_to(root / "A").as_posix(): p for p in _folder_images("data.path", root / "A")}
    names_b = {p.relative_to(root / "B").as_posix(): p for p in _folder_images("data.path", root / "B")}
    common = sorted(names_a.keys() & names_b.keys())
    only_a, only_b = len(names_a.keys() - names_b.keys()), len(names_b.keys() - names_a.keys())
    if only_a or only_b:
        warn(
            f"{only_a} file(s) in {root / 'A'} and {only_b} in {root / 'B'} have no partner of the same name; "
            "they are not used"
        )
    pairs = [(names_a[name], names_b[name]) for name in common]
    images, skipped = read_images([f for pair in pairs for f in pair], size, 3)
    bad = {path for path, _ in skipped}
    warn_skipped([(path, f"{reason} (its pair is not used)") for path, reason in skipped], "images")
    decoded = iter(images)
    kept_a, kept_b = [], []
    for file_a, file_b in pairs:
        a = None if str(file_a) in bad else next(decoded)
        b = None if str(file_b) in bad else next(decoded)
        if a is not None and b is not None:
            kept_a.append(a)
            kept_b.append(b)
    if len(kept_a) < MIN_IMAGES:
        raise MultiganError(
            f"data.path: {len(kept_a)} pair(s) of the same name in {root / 'A'} and {root / 'B'} could be decoded; "
            f"paired data needs at least {MIN_IMAGES}"
        )
    a_all, b_all = _stack(kept_a), _stack(kept_b)
    train, test = _split(len(a_all), heldout)
    return Domains(
        a_all[train], b_all[train], a_all[test], b_all[test], paired=True, skipped=only_a + only_b + len(skipped)
    )


def load_domains(cfg: TranslateDataConfig) -> Domains:
    """The embedded digits -> digits-M, a paired folder (data.path with A/ and B/), or two unpaired folders
    (data.path_a, data.path_b); user images are cut to a centred square, resized to data.size, read as RGB."""
    if cfg.embedded:
        return digits_m(cfg.size)
    if cfg.path:
        return _paired(Path(cfg.path), cfg.size, cfg.heldout)
    a, skipped_a = _read_domain("data.path_a", Path(cfg.path_a), cfg.size)
    b, skipped_b = _read_domain("data.path_b", Path(cfg.path_b), cfg.size)
    train_a, test_a = _split(len(a), cfg.heldout)
    train_b, test_b = _split(len(b), cfg.heldout)
    return Domains(a[train_a], b[train_b], a[test_a], b[test_b], paired=False, skipped=skipped_a + skipped_b)


MAX_COMBINATIONS = 2**20  # unpaired index space: BatchStream permutes it once per epoch


class TrainPairs(Dataset):
    """What the trainer batches: item k -> (a uint8 (3, S, S), b uint8 (3, S, S)).

    Paired: item k is the k-th training pair. Unpaired (or forced with `unpaired=True`): item k is
    (train_a[k % nA], train_b[(k // nA + 7919 (k % nA)) % nB]) over nA * m indices, m = nB while nA * nB
    is at most MAX_COMBINATIONS (every combination once per epoch), fewer past it (each a then meets
    m of the b's, a different stretch for each a). The trainer's shuffled permutation so draws a and b
    independently with no RNG of its own, and resume stays exact.
    """

    def __init__(self, domains: Domains, *, unpaired: bool) -> None:
        if not (unpaired or domains.paired):
            raise ValueError("TrainPairs: unpaired data can only be batched with unpaired=True")
        self.a, self.b, self.unpaired = domains.train_a, domains.train_b, unpaired
        self.per_a = min(len(self.b), max(1, MAX_COMBINATIONS // len(self.a)))

    def __len__(self) -> int:
        return len(self.a) * self.per_a if self.unpaired else len(self.a)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.unpaired:
            i = index % len(self.a)
            return self.a[i], self.b[(index // len(self.a) + 7919 * i) % len(self.b)]
        return self.a[index], self.b[index]
