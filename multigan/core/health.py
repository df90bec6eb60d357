"""Training health: the in-training evaluation of `train.eval_every`, `checkpoints/best`, and the
collapse guard (`train.on_collapse`).

A modality describes its quick metric as a `QuickMetric` (each modality's `evaluate.quick_metric`);
the trainer measures it every `train.eval_every` steps on the sampling generator, logs it as
`eval/<name>` records in metrics.jsonl, keeps `checkpoints/best` by it, and feeds it to a
`CollapseGuard`, whose state travels in the checkpoints so that a resumed run judges as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

DIVERSITY = "diversity"


@dataclass(frozen=True)
class QuickMetric:
    """A modality's quick score of a generator, measured during training.

    `measure(G)` returns `{name: value}` and, where the modality defines one, `"diversity"`: a
    spread of the samples that falls towards 0 when G collapses onto one output. It must draw its
    own fixed noise (same value for the same weights) and leave G's mode alone; the trainer runs it
    under `torch.no_grad` with the global RNG forked. `name` is the score `checkpoints/best` is kept
    by; None when nothing meaningful can be scored on this data (`why_none` says why), in which case
    only the diversity is watched.
    """

    name: str | None
    lower_is_better: bool
    measure: Callable[[nn.Module], dict[str, float]]
    why_none: str = ""


@dataclass
class CollapseGuard:
    """Flags an evaluation whose score or diversity falls off a cliff.

    Score: from the fourth evaluation on, worse than the best so far by more than half of the
    progress from the first evaluation to the best, and by more than `noise` times the median
    change between consecutive evaluations (the run's own noise). Diversity: from the third
    evaluation on, below `diversity_floor` times its highest value. Measured on the default runs
    and on a run whose learning rate is raised 100x mid-way: docs/BENCHMARKS.md, "Training health".
    """

    lower_is_better: bool = True
    noise: float = 4.0
    diversity_floor: float = 0.5
    evaluations: int = 0
    scores: list[float] = field(default_factory=list)  # finite scores, in order
    best: float | None = None
    best_step: int = -1
    top_diversity: float | None = None

    def better(self, value: float, than: float) -> bool:
        return value < than if self.lower_is_better else value > than

    def update(self, step: int, score: float | None, diversity: float | None) -> tuple[bool, str | None]:
        """Take one evaluation; returns (a new best score, the warning when it falls off a cliff)."""
        self.evaluations += 1
        problems = []
        improved = False
        if score is not None and math.isfinite(score):
            if self.best is None or self.better(score, self.best):
                self.best, self.best_step, improved = score, step, True
            elif len(self.scores) >= 3:
                progress = abs(self.scores[0] - self.best)
                regress = abs(score - self.best)
                changes = sorted(abs(b - a) for a, b in zip(self.scores, self.scores[1:]))
                typical = changes[len(changes) // 2]
                if regress > 0.5 * progress and regress > self.noise * typical:
                    problems.append(f"score {score:.4g} against its best {self.best:.4g} at step {self.best_step}")
            self.scores.append(score)
        elif score is not None:
            problems.append(f"score is {score}")
        if diversity is not None:
            floor = self.diversity_floor * (self.top_diversity or 0.0)
            if self.evaluations >= 3 and diversity < floor:
                problems.append(f"sample diversity {diversity:.3g} against its highest {self.top_diversity:.3g}")
            self.top_diversity = diversity if self.top_diversity is None else max(self.top_diversity, diversity)
        return improved, "; ".join(problems) or None

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)
