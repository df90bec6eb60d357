"""DiffAugment (Zhao et al., NeurIPS 2020): the same differentiable augmentations on real and fake
images before D, so D cannot memorise a small dataset. Policies: color, translation, cutout."""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def _color(x: torch.Tensor) -> torch.Tensor:
    b = x.shape[0]
    x = x + (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    pad_h, pad_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift_y = torch.randint(-pad_h, pad_h + 1, (b, 1, 1), device=x.device)
    shift_x = torch.randint(-pad_w, pad_w + 1, (b, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    gy = (gy.unsqueeze(0) + shift_y + pad_h).clamp(0, h + 2 * pad_h - 1)
    gx = (gx.unsqueeze(0) + shift_x + pad_w).clamp(0, w + 2 * pad_w - 1)
    padded = F.pad(x, [pad_w, pad_w, pad_h, pad_h])
    idx = (gy * (w + 2 * pad_w) + gx).flatten(1)  # (b, h*w)
    flat = padded.flatten(2)  # (b, c, H*W)
    return flat.gather(2, idx.unsqueeze(1).expand(-1, x.shape[1], -1)).view_as(x)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device) - ch // 2
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device) - cw // 2
    gy = torch.arange(h, device=x.device).view(1, h, 1)
    gx = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (gy >= oy) & (gy < oy + ch) & (gx >= ox) & (gx < ox + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """Apply the comma-separated `policy` (e.g. "color,translation,cutout"); "" is the identity."""
    for name in filter(None, (p.strip() for p in policy.split(","))):
        if name == "color":
            x = _color(x)
        elif name == "translation":
            x = _translation(x)
        elif name == "cutout":
            x = _cutout(x)
        else:
            raise ValueError(f"model.diffaugment: unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    return x
