"""A 2-D Gaussian GAN: the smallest adapter that exercises the whole trainer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

from multigan.core.adapter import LossOutput, Networks, Phase
from multigan.core.config import RunConfig, TrainConfig
from multigan.core.losses import discriminator_objective, generator_loss


@dataclass
class ToyConfig(RunConfig):
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(steps=8, batch_size=16, log_every=1, checkpoint_every=0, num_samples=8)
    )


class ToyAdapter:
    def __init__(self, cfg: ToyConfig, nan_at: set[int] | None = None, on_step_end=None, reuse_batch=False) -> None:
        self.cfg = cfg
        self.reuse_batch = reuse_batch  # Phase.g_reuses_d_batch
        self.seen: list[tuple[str, torch.Tensor]] = []  # ("D" or "G", the batch) per loss call
        self.nan_at = nan_at or set()  # G-update counts at which the G loss is NaN
        self.g_calls = 0
        self.on_step_end = on_step_end
        g = torch.Generator().manual_seed(123)
        self.data = TensorDataset(torch.randn(64, 2, generator=g) * 0.5 + torch.tensor([2.0, -1.0]))

    def build_models(self):
        G = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
        D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Flatten(0))
        return Networks(G, D)

    def dataset(self):
        return self.data

    def collate(self, items):
        return torch.stack([x for (x,) in items])

    def to_device(self, batch, device):
        return batch.to(device)

    def phases(self, G, D):
        return [
            Phase("adversarial", self.cfg.train.steps, d_loss=self.discriminator_loss, g_loss=self.generator_loss,
                  d_steps=self.cfg.train.n_critic, on_step_end=self.on_step_end, g_reuses_d_batch=self.reuse_batch)
        ]  # fmt: skip

    def discriminator_loss(self, G, D, batch, *, regularize):
        self.seen.append(("D", batch))
        fake = G(torch.randn(batch.shape[0], 4)).detach()
        return discriminator_objective(self.cfg.loss, D, batch, fake, regularize=regularize)

    def generator_loss(self, G, D, batch):
        self.g_calls += 1
        self.seen.append(("G", batch))
        loss = generator_loss(self.cfg.loss.kind, D(G(torch.randn(batch.shape[0], 4))))
        if self.g_calls in self.nan_at:
            loss = loss * float("nan")
        return LossOutput(loss, {"g_loss": loss.detach()})

    def sample(self, G, n, *, seed, condition=None):
        return G(torch.randn(n, 4, generator=torch.Generator().manual_seed(seed)))

    def write_samples(self, samples, out_dir: Path, step: int):
        out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(samples, out_dir / f"step_{step:08d}.pt")
