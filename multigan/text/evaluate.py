"""Evaluation of a text generator: NLL-oracle (oracle runs), held-out NLL, BLEU, Self-BLEU and
distinct-n after training (`evaluate_run`), and NLL-oracle during training (`OracleEvaluation`).
The metric functions themselves are in multigan.metrics.text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from multigan.core.adapter import Phase
from multigan.core.callbacks import Callback
from multigan.core.errors import MultiganError
from multigan.metrics import text as metrics
from multigan.text.adapter import TextAdapter
from multigan.text.generators import TextGenerator

if TYPE_CHECKING:
    from multigan.core.trainer import Trainer


def training_callbacks(adapter: TextAdapter) -> list[Callback]:
    """What a training run needs besides the loop: NLL-oracle logging on oracle runs."""
    return [OracleEvaluation(adapter)] if adapter.oracle is not None else []


def _units(adapter: TextAdapter, rows: list[list[int]], unit: str) -> list[list]:
    if unit == "token" or adapter.tokenizer is None:
        return rows
    texts = [adapter.tokenizer.decode(r) for r in rows]
    return [t.split() if unit == "word" else list(t) for t in texts]


def _cut(G: TextGenerator, rows: torch.Tensor) -> list[list[int]]:
    """Token lists without EOS and its padding."""
    out = []
    for row in rows.tolist():
        if G.eos_id is not None and G.eos_id in row:
            row = row[: row.index(G.eos_id)]
        out.append(row)
    return out


@torch.no_grad()
def evaluate_run(
    adapter: TextAdapter, G: TextGenerator, *, num_samples: int, oracle_samples: int, unit: str, seed: int
):
    if num_samples < 2 or oracle_samples < 1:
        raise MultiganError("--num-samples must be at least 2 and --oracle-samples at least 1")
    report: dict[str, dict] = {}
    if adapter.oracle is not None:
        report["nll_oracle"] = {"value": adapter.nll_oracle(G, oracle_samples, seed=seed), "samples": oracle_samples}
    held = adapter.heldout_rows
    if held.shape[0]:
        name = "nll_test" if adapter.oracle is not None else "nll_heldout"
        report[name] = {"value": metrics.nll(G, held), "sequences": held.shape[0]}
    samples = _cut(G, adapter.sample(G, num_samples, seed=seed))
    hyps = _units(adapter, samples, unit)
    if adapter.tokenizer is not None:
        refs = _units(adapter, [adapter.tokenizer.encode(t) for t in adapter.heldout_texts], unit)
    else:
        refs = _cut(G, held)
    refs = [r for r in refs if r]
    if refs:
        for n, v in metrics.bleu(hyps, refs).items():
            report[f"bleu{n}"] = {"value": v, "samples": len(hyps), "references": len(refs)}
    for n, v in metrics.self_bleu(hyps).items():
        report[f"self_bleu{n}"] = {"value": v, "samples": len(hyps)}
    for n in (1, 2, 3, 4):
        report[f"distinct{n}"] = {"value": metrics.distinct_n(hyps, n), "samples": len(hyps)}
    return report


class OracleEvaluation(Callback):
    """NLL-oracle of G at the end of every phase and every `seqgan.eval_every` MLE epochs and
    adversarial steps, logged with the run's metrics (records with `nll_oracle`)."""

    def __init__(self, adapter: TextAdapter) -> None:
        self.adapter = adapter

    def _record(self, trainer: Trainer, phase: Phase, phase_step: int) -> None:
        if trainer.rt.is_main:
            n = self.adapter.cfg.seqgan.eval_samples
            value = self.adapter.nll_oracle(trainer.G, n)  # type: ignore[arg-type]
            trainer.log_metrics({"nll_oracle": value}, phase=phase.name, phase_step=phase_step, samples=n)

    def on_step_end(self, trainer: Trainer, phase: Phase, phase_step: int) -> None:
        s = self.adapter.cfg.seqgan
        every = {"mle": s.eval_every * self.adapter.batches_per_epoch, "adversarial": s.eval_every}.get(phase.name, 0)
        if every and (phase_step + 1) % every == 0 and phase_step != phase.steps - 1:
            self._record(trainer, phase, phase_step + 1)

    def on_phase_end(self, trainer: Trainer, phase: Phase) -> None:
        self._record(trainer, phase, phase.steps)
