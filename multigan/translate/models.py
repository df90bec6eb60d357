"""The translation networks: one generator for both directions, a two-headed PatchGAN, a style encoder.

G (`Translator`): x -> encoder (7x7 conv, two stride-2 convs) -> residual blocks -> decoder (two
2x upsamplings, 7x7 conv, tanh), the CycleGAN generator's shape. Which domain it translates into is a
*target code*, injected by FiLM (multigan.core.conditioning) into every residual block and upsampling
layer: a learned code per domain (modes paired and unpaired), or a style code that `StyleEncoder`
reads from a reference image (mode reference, StarGAN v2's style path). G(x, code of x's own domain)
reconstructs x: the identity loss trains it, and the blend strip starts from it.

D (`PatchDiscriminator`): 70x70-PatchGAN-style stride-2 convs with one output map per domain; each
image is scored by its domain's head (StarGAN v2's multi-task D).

`PatchSampleHeads`: CUT's per-layer MLPs for PatchNCE on G's encoder features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from multigan.core.conditioning import FiLM
from multigan.translate.config import TranslateConfig

DOMAINS = ("a", "b")  # the code index of each domain


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class ConditionedConv(nn.Module):
    """conv -> norm -> FiLM(code) -> ReLU; `up` first doubles the resolution (nearest)."""

    def __init__(self, cin: int, cout: int, code_dim: int, norm: str, *, up: bool = False) -> None:
        super().__init__()
        self.up = up
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm = make_norm(norm, cout)
        self.film = FiLM(code_dim, cout)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return F.relu(self.film(self.norm(self.conv(x)), code))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, code_dim: int, norm: str) -> None:
        super().__init__()
        self.first = ConditionedConv(channels, channels, code_dim, norm)
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)
        self.norm = make_norm(norm, channels)
        self.film = FiLM(code_dim, channels)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return x + self.film(self.norm(self.conv(self.first(x, code))), code)


class StyleEncoder(nn.Module):
    """A reference image -> a style code. No normalization: it must see the image's colour statistics."""

    def __init__(self, width: int, code_dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width * 2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width * 2, width * 4, 4, 2, 1), nn.LeakyReLU(0.2),
        )  # fmt: skip
        self.out = nn.Linear(width * 4 * 2, code_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = self.body(images)
        # mean and std over space: colour and texture, wherever they are in the picture
        return self.out(torch.cat([h.mean((2, 3)), h.std((2, 3))], dim=1))


class Translator(nn.Module):
    """G for both directions. Built from the run's config: mode, model.width, model.blocks,
    model.code_dim, model.norm; with PatchNCE heads when loss.nce_weight > 0."""

    def __init__(self, cfg: TranslateConfig) -> None:
        super().__init__()
        m = cfg.model
        w, norm, code_dim = m.width, m.norm, m.code_dim
        self.code_dim = code_dim
        self.domain_codes = nn.Embedding(len(DOMAINS), code_dim)
        self.style = StyleEncoder(w, code_dim) if cfg.mode == "reference" else None
        self.encoder = nn.ModuleList(
            [
                nn.Sequential(nn.Conv2d(3, w, 7, 1, 3), make_norm(norm, w), nn.ReLU()),
                nn.Sequential(nn.Conv2d(w, w * 2, 3, 2, 1), make_norm(norm, w * 2), nn.ReLU()),
                nn.Sequential(nn.Conv2d(w * 2, w * 4, 3, 2, 1), make_norm(norm, w * 4), nn.ReLU()),
            ]
        )
        self.blocks = nn.ModuleList(ResidualBlock(w * 4, code_dim, norm) for _ in range(m.blocks))
        self.decoder = nn.ModuleList(
            [ConditionedConv(w * 4, w * 2, code_dim, norm, up=True), ConditionedConv(w * 2, w, code_dim, norm, up=True)]
        )
        self.to_image = nn.Sequential(nn.Conv2d(w, 3, 7, 1, 3), nn.Tanh())
        self.nce_heads = PatchSampleHeads([w, w * 2, w * 4]) if cfg.loss.nce_weight > 0 else None

    def domain_code(self, domain: int, n: int) -> torch.Tensor:
        """The learned code of domain 0 (a) or 1 (b), for n rows."""
        index = torch.full((n,), domain, dtype=torch.long, device=self.domain_codes.weight.device)
        return self.domain_codes(index)

    def style_code(self, references: torch.Tensor) -> torch.Tensor:
        if self.style is None:
            raise ValueError("this generator has no style encoder (train it with mode=reference)")
        return self.style(references)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's outputs at 1, 1/2 and 1/4 resolution (PatchNCE's layers; they do not depend on the code)."""
        feats = []
        for layer in self.encoder:
            x = layer(x)
            feats.append(x)
        return feats

    def transform(self, h: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """The residual blocks: content features -> features of the target given by `code`."""
        for block in self.blocks:
            h = block(h, code)
        return h

    def decode(self, h: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        for layer in self.decoder:
            h = layer(h, code)
        return self.to_image(h)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return self.decode(self.transform(self.features(x)[-1], code), code)

    def blend(self, x: torch.Tensor, source_code: torch.Tensor, target_code: torch.Tensor, alpha: torch.Tensor):
        """Mix x's reconstruction and its translation in feature space: the residual blocks' outputs
        under both codes, and the codes the decoder is modulated by, are interpolated by alpha (n,)
        in [0, 1]. alpha=0 is G(x, source_code) and alpha=1 is G(x, target_code), exactly."""
        h = self.features(x)[-1]
        t = alpha.view(-1, 1, 1, 1).to(h.dtype)
        mixed = (1 - t) * self.transform(h, source_code) + t * self.transform(h, target_code)
        code = torch.lerp(source_code, target_code, alpha.view(-1, 1).to(source_code.dtype))
        return self.decode(mixed, code)


class PatchSampleHeads(nn.Module):
    """CUT's patch sampler: per encoder layer, features at sampled places through a 2-layer MLP, L2-normalized."""

    def __init__(self, channels: list[int], dim: int = 64) -> None:
        super().__init__()
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(c, dim), nn.ReLU(), nn.Linear(dim, dim)) for c in channels)

    def forward(self, feats: list[torch.Tensor], locations: list[torch.Tensor]) -> list[torch.Tensor]:
        """feats[l]: (n, c, h, w); locations[l]: flat indices (p,) -> (n, p, dim) per layer."""
        out = []
        for head, f, where in zip(self.heads, feats, locations):
            picked = f.flatten(2)[:, :, where].transpose(1, 2)  # (n, p, c)
            out.append(F.normalize(head(picked), dim=-1))
        return out


class PatchDiscriminator(nn.Module):
    """Stride-2 4x4 convs (model.d_layers of them), then two stride-1 convs to one logit map per domain."""

    def __init__(self, cfg: TranslateConfig) -> None:
        super().__init__()
        m = cfg.model
        sn = spectral_norm if m.spectral_norm else (lambda module: module)
        ch = m.d_width
        layers: list[nn.Module] = [sn(nn.Conv2d(3, ch, 4, 2, 1)), nn.LeakyReLU(0.2)]
        for _ in range(m.d_layers - 1):
            layers += [sn(nn.Conv2d(ch, ch * 2, 4, 2, 1)), nn.LeakyReLU(0.2)]
            ch *= 2
        layers += [sn(nn.Conv2d(ch, ch * 2, 3, 1, 1)), nn.LeakyReLU(0.2), sn(nn.Conv2d(ch * 2, len(DOMAINS), 3, 1, 1))]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, domain: int) -> torch.Tensor:
        """Patch logits (n, h', w') of `x` as an image of domain 0 (a) or 1 (b)."""
        return self.body(x)[:, domain]
