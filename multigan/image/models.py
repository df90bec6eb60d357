"""DCGAN-lineage generator and discriminator for square images of 16-128 px (a power of two).

G: z (+ class embedding) -> 4x4 feature map -> (upsample, conv, norm, ReLU) blocks -> tanh image.
D: (conv stride 2, norm, LeakyReLU, dropout) blocks -> 4x4 -> logit, plus a projection term
<embed(y), h> for class-conditional runs (Miyato & Koyama 2018).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from multigan.image.config import ImageConfig, check_size


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # LayerNorm over (C, H, W)
    return nn.Identity()


def _resolved(cfg: ImageConfig) -> tuple[int, int]:
    """(size, channels): the image side and channels a run's networks are built for."""
    if cfg.data.channels not in (1, 3):
        raise ValueError("data.channels must be resolved to 1 or 3 before the networks are built")
    return cfg.data.size, cfg.data.channels


class Generator(nn.Module):
    """Built from the run's config: data.size, data.channels (resolved), model.z_dim, model.g_width,
    model.num_classes (0: unconditional) and model.g_norm."""

    def __init__(self, cfg: ImageConfig) -> None:
        super().__init__()
        size, channels = _resolved(cfg)
        m = cfg.model
        z_dim, width, num_classes, norm = m.z_dim, m.g_width, m.num_classes, m.g_norm
        blocks = check_size(size)
        self.z_dim, self.num_classes = z_dim, num_classes
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes > 0 else None
        top = width * 2**blocks
        self.stem = nn.Sequential(nn.Linear(z_dim, top * 16, bias=norm == "none"))
        self.stem_norm = nn.Sequential(make_norm(norm, top), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        ch = top
        for _ in range(blocks):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=norm == "none"),
                make_norm(norm, ch // 2),
                nn.ReLU(inplace=True),
            ]
            ch //= 2
        layers += [nn.Conv2d(ch, channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self.top = top

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels")
            z = z * self.embed(labels)
        h = self.stem(z).view(z.shape[0], self.top, 4, 4)
        return self.body(self.stem_norm(h))


class Discriminator(nn.Module):
    """Built from the run's config: data.size, data.channels (resolved), model.d_width,
    model.num_classes (0: no projection term), model.d_norm, model.spectral_norm, model.dropout."""

    def __init__(self, cfg: ImageConfig) -> None:
        super().__init__()
        size, channels = _resolved(cfg)
        m = cfg.model
        width, num_classes, norm, spectral, dropout = m.d_width, m.num_classes, m.d_norm, m.spectral_norm, m.dropout
        blocks = check_size(size)
        sn = spectral_norm if spectral else (lambda m: m)
        layers: list[nn.Module] = [sn(nn.Conv2d(channels, width, 3, 1, 1)), nn.LeakyReLU(0.2, inplace=True)]
        ch = width
        for _ in range(blocks):
            layers += [sn(nn.Conv2d(ch, ch * 2, 4, 2, 1)), make_norm(norm, ch * 2), nn.LeakyReLU(0.2, inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            ch *= 2
        self.body = nn.Sequential(*layers)
        self.head = sn(nn.Linear(ch * 16, 1))
        self.embed = sn(nn.Embedding(num_classes, ch * 16)) if num_classes > 0 else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x).flatten(1)
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            out = out + (self.embed(labels) * h).sum(1)
        return out
