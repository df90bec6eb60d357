"""The translate adapter: what real, fake, sample and the two losses mean for image-to-image translation.

A batch is a pair (a, b) of domain-A and domain-B images in [-1, 1]: a true pair in mode=paired,
independent draws otherwise. Every mode translates with the same generator, told its target by a
code (models.Translator): codes[0] says "domain A", codes[1] "domain B" (mode=reference reads them
from the batch's own images, so b's style is the reference a is translated with).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from multigan.core.adapter import LossOutput, Networks, Phase, adversarial_phase
from multigan.core.errors import ConfigError
from multigan.core.losses import discriminator_objective, generator_loss
from multigan.translate.config import TranslateConfig
from multigan.translate.data import Domains, TrainPairs, load_domains
from multigan.translate.models import PatchDiscriminator, Translator
from multigan.translate.pipeline import TranslatePipeline, save_rows

TranslateBatch = tuple[torch.Tensor, torch.Tensor]  # a, b: (B, 3, H, W) in [-1, 1]


def patch_nce(
    G: Translator, source: list[torch.Tensor], output: list[torch.Tensor], patches: int, temperature: float
) -> torch.Tensor:
    """CUT's PatchNCE (Park et al. 2020): a patch of the output must pick the source patch at the same place
    out of `patches` patches of the same source image, at every encoder layer."""
    assert G.nce_heads is not None
    locations = [torch.randperm(f.shape[2] * f.shape[3], device=f.device)[:patches] for f in source]
    keys = G.nce_heads(source, locations)
    queries = G.nce_heads(output, locations)
    losses = []
    for q, k in zip(queries, keys):
        logits = torch.bmm(q, k.transpose(1, 2)).float() / temperature  # (n, p, p): the diagonal is the positive
        target = torch.arange(q.shape[1], device=q.device).expand(q.shape[0], -1)
        losses.append(F.cross_entropy(logits.flatten(0, 1), target.flatten()))
    return torch.stack(losses).mean()


class TranslateAdapter:
    def __init__(self, cfg: TranslateConfig, domains: Domains | None = None) -> None:
        self.cfg = cfg
        self.domains = domains if domains is not None else load_domains(cfg.data)
        if cfg.mode == "paired" and not self.domains.paired:
            raise ConfigError("mode=paired: the data is not paired (give data.path, a folder holding A/ and B/)")

    # -- models and data
    def build_models(self) -> Networks:
        return Networks(Translator(self.cfg), PatchDiscriminator(self.cfg))

    def dataset(self) -> TrainPairs:
        return TrainPairs(self.domains, unpaired=self.cfg.mode != "paired")

    def collate(self, items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])

    def to_device(self, batch: tuple[torch.Tensor, torch.Tensor], device: torch.device) -> TranslateBatch:
        a, b = (x.to(device, non_blocking=True).float().div_(127.5).sub_(1.0) for x in batch)
        if self.cfg.data.flip:  # the same flip for both images keeps pairs aligned
            flip = torch.rand(a.shape[0], device=device) < 0.5
            a = torch.where(flip.view(-1, 1, 1, 1), a.flip(3), a)
            b = torch.where(flip.view(-1, 1, 1, 1), b.flip(3), b)
        return a, b

    def phases(self, G: nn.Module, D: nn.Module) -> list[Phase]:
        train = self.cfg.train
        return [adversarial_phase(train.steps, train.n_critic, self.discriminator_loss, self.generator_loss)]

    # -- losses
    def codes(self, G: Translator, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The target codes (for a's rows, for b's rows) that mean "into domain A" and "into domain B"."""
        if self.cfg.mode == "reference":
            return G.style_code(a), G.style_code(b)
        return G.domain_code(0, a.shape[0]), G.domain_code(1, b.shape[0])

    def discriminator_loss(self, G: nn.Module, D: nn.Module, batch: TranslateBatch, *, regularize: bool) -> LossOutput:
        G_, D_ = cast(Translator, G), cast(PatchDiscriminator, D)
        a, b = batch
        with torch.no_grad():
            code_a, code_b = self.codes(G_, a, b)
            fake_b = G_(a, code_b)
            fake_a = None if self.cfg.one_sided else G_(b, code_a)
        out = discriminator_objective(self.cfg.loss, lambda x: D_(x, 1), b, fake_b, regularize=regularize, prefix="d_b")
        if fake_a is None:
            return out
        out_a = discriminator_objective(
            self.cfg.loss, lambda x: D_(x, 0), a, fake_a, regularize=regularize, prefix="d_a"
        )
        return LossOutput(out.loss + out_a.loss, {**out.logs, **out_a.logs})

    def generator_loss(self, G: nn.Module, D: nn.Module, batch: TranslateBatch) -> LossOutput:
        G_, D_ = cast(Translator, G), cast(PatchDiscriminator, D)
        lc, kind, n = self.cfg.loss, self.cfg.loss.kind, batch[0].shape[0]
        a, b = batch
        code_a, code_b = self.codes(G_, a, b)
        if self.cfg.one_sided:  # CUT: a -> b, and b -> b for the identity PatchNCE
            sources, codes = torch.cat([a, b]), torch.cat([code_b, code_b])
        else:  # a -> b, b -> a, then the identities a -> a and b -> b, in one pass
            sources, codes = torch.cat([a, b, a, b]), torch.cat([code_b, code_a, code_a, code_b])
        feats = G_.features(sources)
        outputs = G_.decode(G_.transform(feats[-1], codes), codes)
        fake_b = outputs[:n]
        adv_b = generator_loss(kind, D_(fake_b, 1))
        logs: dict[str, torch.Tensor | float] = {"g_adv_b": adv_b.detach()}
        loss = adv_b
        if not self.cfg.one_sided:
            fake_a, same_a, same_b = outputs[n : 2 * n], outputs[2 * n : 3 * n], outputs[3 * n :]
            adv_a = generator_loss(kind, D_(fake_a, 0))
            identity = F.l1_loss(same_a, a) + F.l1_loss(same_b, b)
            loss = loss + adv_a + lc.identity_weight * identity
            logs.update(g_adv_a=adv_a.detach(), g_identity=identity.detach())
            if self.cfg.mode == "paired":
                l1 = F.l1_loss(fake_b, b) + F.l1_loss(fake_a, a)
                loss = loss + lc.l1_weight * l1
                logs["g_l1"] = l1.detach()
            elif lc.cycle_weight > 0:
                back = G_(torch.cat([fake_b, fake_a]), torch.cat([code_a, code_b]))
                cycle = F.l1_loss(back, torch.cat([a, b]))
                loss = loss + lc.cycle_weight * cycle
                logs["g_cycle"] = cycle.detach()
            if self.cfg.mode == "reference" and lc.style_weight > 0:
                # the style read back from each translation is the one it was asked for
                style = F.l1_loss(G_.style_code(torch.cat([fake_b, fake_a])), torch.cat([code_b, code_a]).detach())
                loss = loss + lc.style_weight * style
                logs["g_style"] = style.detach()
        if lc.nce_weight > 0:
            rows = 2 * n  # (a -> b, b -> b) one-sided; (a -> b, b -> a) two-sided
            nce = patch_nce(
                G_, [f[:rows] for f in feats], G_.features(outputs[:rows]), lc.nce_patches, lc.nce_temperature
            )
            loss = loss + lc.nce_weight * nce
            logs["g_nce"] = nce.detach()
        logs["g_loss"] = loss.detach()
        return LossOutput(loss, logs)

    # -- sampling
    def pipeline(self, G: nn.Module) -> TranslatePipeline:
        return TranslatePipeline(self.cfg, cast(Translator, G))

    def sample(self, G: nn.Module, n: int, *, seed: int) -> list[torch.Tensor]:
        """Rows of a grid (each (n, 3, H, W) uint8) on the first n held-out images (TranslatePipeline.sample_rows)."""
        return self.pipeline(G).sample_rows(self.domains, n)

    def write_samples(self, samples: list[torch.Tensor], out_dir: Path, step: int) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        save_rows(samples, out_dir / f"step_{step:08d}.png")
