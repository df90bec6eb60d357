"""Frame-prediction metrics over videos shaped (b, t, c, h, w) with values in [0, 1].

Every metric returns one value per video and predicted step, shape (b, t); `summarize` turns those
into per-step curves and averages. Conventions:

- `frame_mse`: squared error summed over the pixels of a frame (c*h*w values), OpenSTL's "MSE".
- `mse`, `mae`: per-pixel means.
- `psnr`: 10*log10(1 / per-pixel MSE) per frame, capped at 100 dB (identical frames).
- `ssim`: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), K1=0.01, K2=0.03, data range
  1, computed over valid windows per channel and averaged; frames smaller than 11 pixels use the
  largest odd window that fits.
- `sharpness`: Mathieu et al. 2016's sharpness difference, 10*log10(1 / mean |grad(truth) -
  grad(prediction)|) with grad = |d/dx| + |d/dy|; blurry predictions score lower.
- `grad_ratio`: mean gradient magnitude of the prediction over that of the truth (1 = as sharp).

`best_of_n` implements SAVP's protocol for stochastic models: for each video and each metric, keep
the sample whose average over the predicted steps is best.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from einops import rearrange

PSNR_CAP = 100.0


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape or pred.ndim != 5:
        raise ValueError(
            f"need two (b, t, c, h, w) tensors of one shape, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )


def frame_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    _check(pred, target)
    return (pred.double() - target.double()).pow(2).sum(dim=(2, 3, 4))


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    _check(pred, target)
    return (pred.double() - target.double()).pow(2).mean(dim=(2, 3, 4))


def mae(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    _check(pred, target)
    return (pred.double() - target.double()).abs().mean(dim=(2, 3, 4))


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (-10.0 * torch.log10(mse(pred, target))).clamp(max=PSNR_CAP)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    _check(pred, target)
    b, t, c, h, w = pred.shape
    size = min(window, h, w)
    size -= 1 - size % 2  # odd
    g = gaussian_window(size, sigma).to(pred.device)
    x = rearrange(pred.double(), "b t c h w -> (b t c) 1 h w")
    y = rearrange(target.double(), "b t c h w -> (b t c) 1 h w")

    def blur(z: torch.Tensor) -> torch.Tensor:  # separable Gaussian, valid windows only
        z = F.conv2d(z, g.view(1, 1, 1, size))
        return F.conv2d(z, g.view(1, 1, size, 1))

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = k1**2, k2**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return rearrange(s.mean(dim=(1, 2, 3)), "(b t c) -> b t c", b=b, t=t).mean(dim=2)


def _grad(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return (z[..., :, 1:] - z[..., :, :-1]).abs(), (z[..., 1:, :] - z[..., :-1, :]).abs()


def sharpness(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    _check(pred, target)
    (px, py), (tx, ty) = _grad(pred.double()), _grad(target.double())
    gp = px[..., :-1, :] + py[..., :, :-1]
    gt = tx[..., :-1, :] + ty[..., :, :-1]
    diff = (gt - gp).abs().mean(dim=(2, 3, 4))
    return (-10.0 * torch.log10(diff)).clamp(max=PSNR_CAP)


def grad_ratio(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    _check(pred, target)
    (px, py), (tx, ty) = _grad(pred.double()), _grad(target.double())
    energy = lambda gx, gy: gx.mean(dim=(2, 3, 4)) + gy.mean(dim=(2, 3, 4))
    return energy(px, py) / energy(tx, ty).clamp(min=1e-12)


# name -> (function, higher is better)
METRICS: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], bool]] = {
    "frame_mse": (frame_mse, False),
    "mse": (mse, False),
    "mae": (mae, False),
    "psnr": (psnr, True),
    "ssim": (ssim, True),
    "sharpness": (sharpness, True),
    "grad_ratio": (grad_ratio, True),
}
DEFAULT_METRICS = ("frame_mse", "mse", "mae", "psnr", "ssim")


def baselines(context: torch.Tensor, steps: int) -> dict[str, torch.Tensor]:
    """The two reference predictions of `steps` frames after `context` (b, k, c, h, w):
    "copy_last" repeats the last context frame; "blank" is the background alone, the context's
    per-pixel minimum over time (black for moving digits): what a predictor that has learned
    nothing about motion gets."""
    shape = (context.shape[0], steps, *context.shape[2:])
    return {"copy_last": context[:, -1:].expand(shape), "blank": context.amin(1, keepdim=True).expand(shape)}


def per_frame(pred: torch.Tensor, target: torch.Tensor, names=DEFAULT_METRICS) -> dict[str, torch.Tensor]:
    """{metric: (b, t) values}."""
    return {name: METRICS[name][0](pred, target) for name in names}


def best_of_n(samples: torch.Tensor, target: torch.Tensor, names=DEFAULT_METRICS) -> dict[str, torch.Tensor]:
    """SAVP's best-of-N: samples (n, b, t, c, h, w) -> {metric: (b, t)} of each video's best sample.

    The best sample is chosen per video and per metric, by the metric's average over the steps.
    """
    if samples.ndim != 6 or samples.shape[1:] != target.shape:
        raise ValueError(f"samples must be (n, *target.shape), got {tuple(samples.shape)} for {tuple(target.shape)}")
    out = {}
    for name in names:
        fn, higher = METRICS[name]
        values = torch.stack([fn(s, target) for s in samples])  # (n, b, t)
        score = values.mean(dim=2)
        pick = score.argmax(dim=0) if higher else score.argmin(dim=0)  # (b,)
        out[name] = values[pick, torch.arange(values.shape[1])]
    return out


def summarize(values: dict[str, torch.Tensor]) -> dict[str, dict[str, float | list[float]]]:
    """{metric: {"per_step": [...], "mean": x}} averaged over videos (and steps, for the mean)."""
    summary: dict[str, dict[str, float | list[float]]] = {}
    for name, v in values.items():
        steps = v.mean(dim=0)
        summary[name] = {"per_step": [float(x) for x in steps], "mean": float(steps.mean())}
    return summary


def accumulate(totals: dict[str, torch.Tensor] | None, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Concatenate per-video values batch after batch (dim 0)."""
    if totals is None:
        return {k: v.detach().cpu() for k, v in values.items()}
    return {k: torch.cat([totals[k], values[k].detach().cpu()]) for k in totals}
