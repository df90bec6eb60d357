"""Adversarial objectives and regularizers, shared by every adapter.

Conventions: D returns raw logits (no sigmoid). Every function returns a mean over the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from multigan.core.adapter import LossOutput
from multigan.core.config import LossConfig


def _real_term(kind: str, real: torch.Tensor) -> torch.Tensor:
    """D's per-sample loss on logits it should call real."""
    if kind == "nonsaturating":
        return F.softplus(-real)
    if kind == "hinge":
        return F.relu(1 - real)
    if kind == "lsgan":
        return 0.5 * (real - 1) ** 2
    if kind == "wgan-gp":
        return -real
    raise ValueError(f"unknown loss kind {kind!r}")


def _fake_term(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """D's per-sample loss on logits it should call fake."""
    if kind == "nonsaturating":
        return F.softplus(fake)
    if kind == "hinge":
        return F.relu(1 + fake)
    if kind == "lsgan":
        return 0.5 * fake**2
    if kind == "wgan-gp":
        return fake
    raise ValueError(f"unknown loss kind {kind!r}")


def discriminator_loss(
    kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor, fake_share: float = 1.0
) -> torch.Tensor:
    """D's loss; `fake_share` scales the fake term, for adapters with several kinds of fakes that
    share the fake side between them (as GAN-INT-CLS averages its fake and mismatched terms)."""
    return _real_term(kind, real_logits.float()).mean() + fake_share * fake_loss(kind, fake_logits)


def fake_loss(kind: str, fake_logits: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    """D's loss on logits it should call fake, averaged over `rows` (a bool mask; None: all). The
    matching-aware loss is this on real samples scored with mismatched conditions."""
    per_sample = _fake_term(kind, fake_logits.float())
    if rows is None:
        return per_sample.mean()
    return (per_sample * rows).sum() / rows.sum().clamp(min=1)


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    fake = fake_logits.float()
    if kind == "nonsaturating":
        return F.softplus(-fake).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    raise ValueError(f"unknown loss kind {kind!r}")


def r1_penalty(real_logits: torch.Tensor, real_inputs: torch.Tensor) -> torch.Tensor:
    """E[ ||d D(x) / dx||^2 ] over real x (Mescheder et al. 2018). `real_inputs` must require grad."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_inputs, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def gradient_penalty(
    d_fn: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """E[(||d D(x_hat) / dx_hat|| - 1)^2] on random interpolates (Gulrajani et al. 2017)."""
    alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(d_fn(mixed).float().sum(), mixed, create_graph=True)
    return (grad.float().flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def discriminator_objective(
    cfg: LossConfig,
    d_fn: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    regularize: bool,
    prefix: str = "d",
    fake_share: float = 1.0,
) -> LossOutput:
    """D's full loss on one pair of real and fake inputs, with GP (wgan-gp) and lazy R1.

    `d_fn` maps an input batch to logits (bind labels or context in a closure). `regularize` is the
    trainer's lazy-R1 cadence: R1 is added, scaled by the interval, only when it is true.
    """
    use_r1 = regularize and cfg.r1_gamma > 0
    if use_r1:
        real = real.detach().requires_grad_(True)
    real_logits = d_fn(real)
    fake_logits = d_fn(fake.detach())
    loss = discriminator_loss(cfg.kind, real_logits, fake_logits, fake_share)
    logs = {
        f"{prefix}_loss": loss.detach(),
        f"{prefix}_real": real_logits.detach().float().mean(),
        f"{prefix}_fake": fake_logits.detach().float().mean(),
    }
    if cfg.kind == "wgan-gp" and cfg.gp_weight > 0:
        gp = gradient_penalty(d_fn, real, fake)
        loss = loss + cfg.gp_weight * gp
        logs[f"{prefix}_gp"] = gp.detach()
    if use_r1:
        r1 = r1_penalty(real_logits, real)
        loss = loss + 0.5 * cfg.r1_gamma * cfg.r1_every * r1
        logs[f"{prefix}_r1"] = r1.detach()
    return LossOutput(loss, logs)
