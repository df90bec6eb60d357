"""Evaluation of a text generator: NLL-oracle (oracle runs), held-out NLL, BLEU, Self-BLEU and
distinct-n after training (`evaluate_run`), the quality-diversity curve over sampling temperatures
(`temperature_curve`), and NLL-oracle during training (`OracleEvaluation`). The metric functions
themselves are in multigan.metrics.text."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import nn

from multigan.core.adapter import Phase
from multigan.core.callbacks import Callback
from multigan.core.checkpoint import named_checkpoint
from multigan.core.errors import MultiganError
from multigan.core.export import load_generator
from multigan.core.health import DIVERSITY, QuickMetric
from multigan.metrics import text as metrics
from multigan.text.adapter import TextAdapter
from multigan.text.generators import SamplingConfig, TextGenerator
from multigan.text.oracle import generator_samples, nll_oracle

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


def parse_temperatures(text: str) -> list[float]:
    """`--temperatures 0.7,0.8,0.9`: comma-separated temperatures, each a number > 0, in the order given."""
    values = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            value = float("nan")
        if not (math.isfinite(value) and value > 0):
            raise MultiganError(
                f"--temperatures: {item.strip()!r} is not a temperature > 0 (give numbers separated by commas, "
                "e.g. 0.7,0.8,0.9,1.0,1.1)"
            )
        values.append(value)
    if len(set(values)) < len(values):
        raise MultiganError(f"--temperatures: {text!r} repeats a temperature")
    return values


def curve_metrics(adapter: TextAdapter) -> tuple[str, str]:
    """(quality, diversity) of a temperature curve: (NLL-oracle, NLL-test) on oracle runs, else
    (BLEU-4, Self-BLEU-4)."""
    return ("nll_oracle", "nll_test") if adapter.oracle is not None else ("bleu4", "self_bleu4")


@torch.no_grad()
def temperature_curve(
    adapter: TextAdapter,
    G: TextGenerator,
    temperatures: list[float],
    *,
    num_samples: int,
    oracle_samples: int,
    unit: str = "token",
    seed: int = 0,
) -> list[dict[str, float]]:
    """One point per temperature T: quality against diversity of G sampled at T (Caccia et al.
    2020, "Language GANs falling short": a GAN is read against the MLE model's curve, not one point).

    Samples are drawn as `generate` draws them, SamplingConfig(temperature=T, sampler=seqgan.sampler),
    with the same seed at every T; at T = 1 they are the samples `evaluate_run` scores.
    - oracle runs: `nll_oracle`, the oracle's NLL of `oracle_samples` samples, and `nll_test`, G's NLL
      of the held-out oracle sequences under its distribution at T, log_softmax(logits / T);
    - real text: `bleu4` of `num_samples` samples against the held-out text and their `self_bleu4`.
    """
    was_training = G.training
    G.eval()
    try:
        points = []
        held = adapter.heldout_rows
        refs: list[list] = []
        if adapter.oracle is None:
            if adapter.tokenizer is not None:
                refs = _units(adapter, [adapter.tokenizer.encode(t) for t in adapter.heldout_texts], unit)
            refs = [r for r in refs if r]
            if not refs:
                raise MultiganError("--temperatures: the run holds no held-out text to score BLEU-4 against")
        for T in temperatures:
            sampling = SamplingConfig(temperature=T, sampler=adapter.cfg.seqgan.sampler)
            point = {"temperature": T}
            if adapter.oracle is not None:
                rows = generator_samples(G, oracle_samples, adapter.cfg.data.seq_len, seed=seed, sampling=sampling)
                point["nll_oracle"] = nll_oracle(adapter.oracle, rows)
                point["nll_test"] = metrics.nll(G, held, temperature=T)
            else:
                rng = torch.Generator(G.device).manual_seed(seed)  # as adapter.sample, at temperature T
                rows = G.sample(num_samples, adapter.cfg.data.seq_len, rng=rng, sampling=sampling).cpu()
                hyps = _units(adapter, _cut(G, rows), unit)
                point["bleu4"] = metrics.bleu(hyps, refs, orders=(4,))[4]
                point["self_bleu4"] = metrics.self_bleu(hyps, orders=(4,))[4]
            points.append(point)
        return points
    finally:
        G.train(was_training)


MLE_CHECKPOINT = "mle"  # the state at the end of MLE pre-training (the text adapter's Phase keep_as)


def temperature_curves(
    adapter: TextAdapter,
    run_dir: Path,
    G: TextGenerator,
    checkpoint: str,
    temperatures: list[float],
    *,
    num_samples: int,
    oracle_samples: int,
    unit: str = "token",
    seed: int = 0,
) -> tuple[dict[str, Any], str | None]:
    """The temperature curves of the trained G (loaded from `checkpoint`) and of the run's MLE
    checkpoint, for evaluation.json's "temperature_curves"; and a one-line note when there is no
    second curve (no intact checkpoints/mle, or G is that checkpoint), else None."""
    quality, diversity = curve_metrics(adapter)

    def curve(model: TextGenerator) -> list[dict[str, float]]:
        return temperature_curve(
            adapter, model, temperatures, num_samples=num_samples, oracle_samples=oracle_samples, unit=unit, seed=seed
        )

    models = {"G": {"checkpoint": checkpoint, "points": curve(G)}}
    note = None
    if checkpoint == MLE_CHECKPOINT:
        note = "G is the MLE checkpoint: one curve"
    elif named_checkpoint(run_dir / "checkpoints", MLE_CHECKPOINT) is None:
        note = f"{run_dir} has no checkpoints/{MLE_CHECKPOINT} (the end of MLE pre-training): G's curve only"
    else:
        mle = adapter.build_generator()
        load_generator(run_dir, mle, MLE_CHECKPOINT)
        mle = mle.to(G.device)
        models["MLE"] = {"checkpoint": MLE_CHECKPOINT, "points": curve(mle)}
    counts = {"samples": oracle_samples if adapter.oracle is not None else num_samples}
    if adapter.oracle is not None:
        counts["sequences"] = adapter.heldout_rows.shape[0]
    curves = {"quality": quality, "diversity": diversity, "temperatures": temperatures, **counts, "models": models}
    return curves, note


CURVE_LEGEND = {
    "nll_oracle": "NLL-oracle: the oracle's NLL of samples drawn at T (quality; lower is better)",
    "nll_test": "NLL-test: the model's NLL of held-out oracle sequences at T (coverage; lower is better)",
    "bleu4": "BLEU-4: samples drawn at T against the held-out text (quality; higher is better)",
    "self_bleu4": "Self-BLEU-4: of those samples (lower is more diverse)",
}


def format_curves(curves: dict[str, Any]) -> list[str]:
    """The curves as a table: one row per model and temperature."""
    quality, diversity = curves["quality"], curves["diversity"]
    counts = " ".join(f"{k}={curves[k]}" for k in ("samples", "sequences") if k in curves)
    lines = [f"temperature curves ({counts}):", f"  {CURVE_LEGEND[quality]}", f"  {CURVE_LEGEND[diversity]}"]
    width = max(len("checkpoint"), *(len(m["checkpoint"]) for m in curves["models"].values()))
    lines.append(f"{'model':<6} {'checkpoint':<{width}} {'T':>5} {quality:>11} {diversity:>11}")
    for name, model in curves["models"].items():
        for point in model["points"]:
            lines.append(
                f"{name:<6} {model['checkpoint']:<{width}} {point['temperature']:>5g} "
                f"{point[quality]:>11.4f} {point[diversity]:>11.4f}"
            )
    return lines


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


def quick_metric(adapter: TextAdapter, samples: int = 500, bleu_samples: int = 100) -> QuickMetric:
    """What `train.eval_every` measures: NLL-oracle of `samples` sequences (oracle runs), or BLEU-4
    of `bleu_samples` samples against the held-out text; with the distinct-4 share of the samples
    as their diversity (it falls when G repeats itself). Fixed seeds, tokens as the unit."""
    oracle = adapter.oracle is not None
    tok = adapter.tokenizer
    has_refs = bool(adapter.heldout_texts) if tok is not None else adapter.heldout_rows.shape[0] > 0
    references: list[list[int]] = []  # built at the first evaluation

    def measure(G: nn.Module) -> dict[str, float]:
        gen = cast(TextGenerator, G)
        rows = _cut(gen, adapter.sample(gen, samples if oracle else bleu_samples, seed=0))
        values = {DIVERSITY: metrics.distinct_n(rows, 4)}
        if oracle:
            values["nll_oracle"] = adapter.nll_oracle(gen, samples, seed=0)
        elif has_refs:
            if not references:
                refs = [tok.encode(t) for t in adapter.heldout_texts] if tok else _cut(gen, adapter.heldout_rows)
                references.extend(r for r in refs if r)
            values["bleu4"] = metrics.bleu(rows, references, orders=(4,))[4]
        return values

    if oracle:
        return QuickMetric("nll_oracle", True, measure)
    if not has_refs:
        return QuickMetric(None, False, measure, "no held-out text to score BLEU against (data.heldout=0)")
    return QuickMetric("bleu4", False, measure)
