"""The contract between the trainer and a modality.

An adapter says what "real", "fake", "sample" and the two losses mean for its modality; the
trainer (multigan.core.trainer) owns everything else: optimizers, cadence, EMA, precision,
devices, checkpoints, logging.
"""

from __future__ import annotations

from collections.abc import Callable
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
    logs: dict[str, torch.Tensor | float] = field(default_factory=dict)


LossFn = Callable[[nn.Module, nn.Module, Any], LossOutput]
DiscriminatorLossFn = Callable[..., LossOutput]


@dataclass
class Phase:
    """A stretch of training. One phase step = `d_steps` D updates, then `g_steps` G updates.

    `d_loss(G, D, batch, regularize=...)` and `g_loss(G, D, batch)` are the adapter's loss
    functions; None skips that network in this phase (e.g. MLE pre-training of G has no D loss).
    Each update draws a fresh batch from the data stream.
    """

    name: str
    steps: int
    d_loss: DiscriminatorLossFn | None = None
    g_loss: LossFn | None = None
    d_steps: int = 1
    g_steps: int = 1
    lr_g: float | None = None  # None: train.lr_g
    lr_d: float | None = None  # None: train.lr_d
    on_step_end: Callable[[int], None] | None = None  # phase-local step, after the updates
    # "G" and/or "D": the phase starts from a new optimizer state (Adam's moments and step count
    # reset), as if it had its own optimizer; e.g. SeqGAN's adversarial G after MLE pre-training
    fresh_optimizers: tuple[str, ...] = ()


class Adapter(Protocol[BatchT]):
    """What a modality provides. See multigan/image/adapter.py for a complete example.

    Optional: `extra_modules() -> dict[str, nn.Module]`, networks besides G and D that the trainer
    moves to the device and checkpoints with them but never optimizes (e.g. SeqGAN's lagged rollout
    policy in multigan/text/adapter.py). Called once, after `build_models`.
    """

    def build_models(self) -> tuple[nn.Module, nn.Module]:
        """(G, D) on the CPU; the trainer moves them."""
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

    def discriminator_loss(self, G: nn.Module, D: nn.Module, batch: BatchT, *, regularize: bool) -> LossOutput: ...

    def generator_loss(self, G: nn.Module, D: nn.Module, batch: BatchT) -> LossOutput: ...

    def sample(self, G: nn.Module, n: int, *, seed: int, condition: Any = None) -> Any: ...

    def write_samples(self, samples: Any, out_dir: Path, step: int) -> None: ...
