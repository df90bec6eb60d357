"""The contract between the trainer and a modality.

An adapter says what "real", "fake", "sample" and the two losses mean for its modality; the
trainer (multigan.core.trainer) owns everything else: optimizers, cadence, EMA, precision,
devices, checkpoints, logging.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch
from torch import nn
from torch.utils.data import Dataset

BatchT = TypeVar("BatchT")


@dataclass
class LossOutput:
    """A scalar to minimise plus detached figures to log (tensors are fine: no sync until logged)."""

    loss: torch.Tensor
    logs: Mapping[str, torch.Tensor | float] = field(default_factory=dict)


# g_loss(G, D, batch) and d_loss(G, D, batch, *, regularize); each adapter narrows G, D and batch
LossFn = Callable[..., LossOutput]
DiscriminatorLossFn = Callable[..., LossOutput]


@dataclass
class Phase:
    """A stretch of training. One phase step = `d_steps` D updates, then `g_steps` G updates.

    `d_loss(G, D, batch, regularize=...)` and `g_loss(G, D, batch)` are the adapter's loss
    functions; None skips that network in this phase (e.g. MLE pre-training of G has no D loss).
    Each update draws a fresh batch from the data stream, unless `g_reuses_d_batch`: then G's first
    update is given the very batch object of D's last one, so that an adapter can keep the fakes it
    made for D, with their graph, and backpropagate G's loss through them (pix2pix's order: one
    forward pass of G per step instead of two).
    """

    name: str
    steps: int
    d_loss: DiscriminatorLossFn | None = None
    g_loss: LossFn | None = None
    d_steps: int = 1
    g_steps: int = 1
    g_reuses_d_batch: bool = False
    lr_g: float | None = None  # None: train.lr_g
    lr_d: float | None = None  # None: train.lr_d
    on_step_end: Callable[[int], None] | None = None  # phase-local step, after the updates
    # "G" and/or "D": the phase starts from a new optimizer state (Adam's moments and step count
    # reset), as if it had its own optimizer; e.g. SeqGAN's adversarial G after MLE pre-training
    fresh_optimizers: tuple[str, ...] = ()
    # a name: the trainer keeps the state at the phase's end as checkpoints/<name>, never pruned
    # (e.g. SeqGAN's "mle": the MLE model its adversarial training is compared against)
    keep_as: str | None = None


def adversarial_phase(steps: int, n_critic: int, d_loss: DiscriminatorLossFn, g_loss: LossFn) -> Phase:
    """The whole schedule of a one-phase adapter (image, translate, audio): `steps` steps of
    `n_critic` D updates, then one G update."""
    return Phase("adversarial", steps, d_loss=d_loss, g_loss=g_loss, d_steps=n_critic)


@dataclass
class Networks:
    """What an adapter builds: G and D, plus networks the trainer moves to the device and
    checkpoints with them but never optimizes (`extra`; e.g. SeqGAN's lagged rollout policy)."""

    G: nn.Module
    D: nn.Module
    extra: dict[str, nn.Module] = field(default_factory=dict)


class Adapter(Protocol[BatchT]):
    """What the trainer calls, and nothing else. See multigan/image/adapter.py for a complete example.

    The adapter's losses reach the trainer through the phases it returns.
    """

    def build_models(self) -> Networks:
        """The networks on the CPU; the trainer moves them."""
        ...

    def dataset(self) -> Dataset:
        """Training examples; the trainer batches, shuffles, shards and resumes over it."""
        ...

    def collate(self, items: list[Any]) -> BatchT:
        """Turn a list of dataset items into one batch (on the CPU)."""
        ...

    def to_device(self, batch: BatchT, device: torch.device) -> BatchT: ...

    def phases(self, G: nn.Module, D: nn.Module) -> list[Phase]:
        """The schedule. Image and video: one adversarial phase. Text: MLE, D pre-training, adversarial."""
        ...

    def sample(self, G: nn.Module, n: int, *, seed: int) -> Any:
        """What the trainer writes at sample points: `n` samples from `G` (the EMA generator if any)."""
        ...

    def write_samples(self, samples: Any, out_dir: Path, step: int) -> None: ...
