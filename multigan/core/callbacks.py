"""Trainer callbacks: code that watches or extends a run without changing the loop.

Subclass `Callback`, override the hooks you need and pass instances as `Trainer(..., callbacks=[...])`.
Hooks run on every rank under torchrun, in the order given; `trainer.rt.is_main` tells rank 0.
`trainer.log_metrics(...)` writes a record to the run's metrics.jsonl (and TensorBoard).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multigan.core.adapter import Phase
    from multigan.core.trainer import Trainer


class Callback:
    def on_step_end(self, trainer: Trainer, phase: Phase, phase_step: int) -> None:
        """After the updates of the phase's step `phase_step` (0-based); `trainer.step` has advanced."""

    def on_phase_end(self, trainer: Trainer, phase: Phase) -> None:
        """After the phase's last step."""

    def on_log(self, trainer: Trainer, step: int, values: dict[str, float]) -> None:
        """After a record of mean losses has been written (every `train.log_every` steps)."""
