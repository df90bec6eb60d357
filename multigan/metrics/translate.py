"""Scores of image-to-image translation: labels kept, domain-FID, style error, SSIM and PSNR.

Images are float (n, 3, h, w) in [-1, 1] unless said otherwise; the classifier's training images
are uint8. A translation keeps its content when a classifier trained on the target domain's real
images (never on a translation) still reads the source's label; it looks like the target domain
when the Fréchet distance of that classifier's 128-d features to real target images is small.
SSIM and PSNR are multigan.metrics.video's, on images scaled to [0, 1], so every recipe's SSIM is
one function.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model
from torch import nn

from multigan.core.data import cache_dir
from multigan.core.errors import MultiganError
from multigan.metrics import video
from multigan.metrics.image import (
    DigitClassifier,
    batched,
    classifier_input,
    fit_classifier,
    frechet_distance,
    save_atomically,
)

_VERSION = "v1"  # bump when the classifier or its training changes: old cache files are then ignored


def _cache_name(images: torch.Tensor, labels: torch.Tensor, steps: int, seed: int) -> str:
    h = hashlib.sha256()
    h.update(repr((tuple(images.shape), steps, seed, _VERSION)).encode())
    h.update(images.contiguous().numpy().tobytes())
    h.update(labels.to(torch.int64).contiguous().numpy().tobytes())
    return f"domain_classifier_{_VERSION}_{h.hexdigest()[:20]}.safetensors"


def domain_classifier(
    images: torch.Tensor, labels: torch.Tensor, *, steps: int = 600, seed: int = 0, device: torch.device | str = "cpu"
) -> DigitClassifier:
    """A classifier of one domain's real images (uint8 (n, 3, h, w); training writers only, never a
    translation) and their labels; trained on the CPU, cached by a hash of its inputs, in eval mode."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise MultiganError(
            f"domain_classifier needs uint8 (n, 3, h, w) images, got {images.dtype} {tuple(images.shape)}"
        )
    if images.shape[0] == 0 or labels.shape != (images.shape[0],):
        raise MultiganError(f"domain_classifier needs images and one label each, got {tuple(labels.shape)} labels")
    images, labels = images.cpu(), labels.cpu().long()
    num_classes = int(labels.max()) + 1
    path = cache_dir() / _cache_name(images, labels, steps, seed)
    if path.is_file():
        with torch.random.fork_rng():  # its initialisation draws random numbers: leave the caller's RNG alone
            model = DigitClassifier(3, num_classes)
        load_model(model, str(path))
        return model.to(device).eval()
    x = classifier_input(images.float() / 127.5 - 1, 3)  # resized once, not per step
    model = fit_classifier(lambda: DigitClassifier(3, num_classes), x, labels, steps=steps, seed=seed)
    save_atomically(model, path)
    return model.to(device).eval()


def _device_of(module: nn.Module) -> torch.device:
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def labels_kept(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of `images` that `classifier` assigns to `labels` (run where the classifier is)."""
    if images.shape[0] == 0 or labels.shape != (images.shape[0],):
        raise MultiganError(f"labels_kept needs images and one label each, got {images.shape[0]} and {labels.shape}")
    predicted = batched(classifier, images, _device_of(classifier)).argmax(1)
    return float((predicted == labels.cpu()).double().mean())


def style_statistics(images: torch.Tensor) -> torch.Tensor:
    """(n, 9) float64 for RGB, on values scaled to [0, 1]: the 3 channel means, the 3 channel stds
    (population, over the whole image), then 3 texture figures: per channel the mean absolute
    difference over all pairs of horizontally or vertically neighbouring pixels."""
    x = (images.double() + 1) / 2
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(2)
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(2)
    texture = torch.cat([dx, dy], dim=2).mean(2)
    return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3), correction=0), texture], dim=1)


def style_error(output: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean over samples of the mean |style_statistics(output) - style_statistics(reference)|: how far
    each output's colour and texture are from the reference it was asked to take them from (0: the same)."""
    if output.shape != reference.shape:
        raise MultiganError(f"style_error needs paired images, got {tuple(output.shape)} and {tuple(reference.shape)}")
    return float((style_statistics(output) - style_statistics(reference)).abs().mean())


def _per_image(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], pred: torch.Tensor, target: torch.Tensor, batch: int = 64
) -> float:
    """Mean over images of video metric `fn` on single-frame clips scaled from [-1, 1] to [0, 1]."""
    if pred.shape != target.shape or pred.ndim != 4 or pred.shape[0] == 0:
        raise MultiganError(
            f"need two (n, c, h, w) images of one shape, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    clip = lambda z: ((z.double() + 1) / 2).unsqueeze(1)
    values = [fn(clip(pred[i : i + batch]), clip(target[i : i + batch])) for i in range(0, pred.shape[0], batch)]
    return float(torch.cat(values).mean())


def image_ssim(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean SSIM over the images: metrics.video.ssim (Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03,
    data range 1) of each image scaled from [-1, 1] to [0, 1]."""
    return _per_image(video.ssim, pred, target)


def image_psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over the images of metrics.video.psnr (per image, on [0, 1], capped at 100 dB)."""
    return _per_image(video.psnr, pred, target)


def domain_fid(
    classifier: DigitClassifier, real: torch.Tensor, fake: torch.Tensor, device: torch.device | str | None = None
) -> float:
    """Fréchet distance (float64) of the classifier's 128-d features of `real` and `fake`; computed on
    `device` (the classifier is moved there), by default where the classifier is."""
    if real.shape[0] < 2 or fake.shape[0] < 2:
        raise MultiganError(
            f"domain_fid needs at least 2 real and 2 fake images, got {real.shape[0]} and {fake.shape[0]}"
        )
    where = _device_of(classifier) if device is None else torch.device(device)
    classifier.to(where)
    return frechet_distance(batched(classifier.features, real, where), batched(classifier.features, fake, where))


@dataclass
class TranslationReport:
    """What `evaluate` prints and saves as evaluation.json: rows[direction][row][metric], direction
    "a2b" or "b2a", row e.g. "translation", "identity map", "random target", "reference-guided";
    `protocol` says how it was measured (image counts, seeds, classifier steps, the scored step)."""

    rows: dict[str, dict[str, dict[str, float]]]
    protocol: dict[str, Any]

    def lines(self) -> list[str]:
        """One line per (direction, row), each metric in its own aligned column, 4 significant digits."""
        cells = {
            (d, r): {m: f"{m}={v:.4g}" for m, v in metrics.items()}
            for d, rows in self.rows.items()
            for r, metrics in rows.items()
        }
        names = list(dict.fromkeys(m for c in cells.values() for m in c))
        width = {m: max(len(c.get(m, "")) for c in cells.values()) for m in names}
        w_dir = max((len(d) for d, _ in cells), default=0)
        w_row = max((len(r) for _, r in cells), default=0)
        return [
            "  ".join([d.ljust(w_dir), r.ljust(w_row), *(c.get(m, "").ljust(width[m]) for m in names)]).rstrip()
            for (d, r), c in cells.items()
        ]

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> TranslationReport:
        data = json.loads(Path(path).read_text())
        return cls(rows=data["rows"], protocol=data["protocol"])
