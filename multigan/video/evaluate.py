"""Frame prediction on held-out clips: K context frames in, P predicted frames scored per step.

The default protocol is the common 10 -> 10 one (OpenSTL, SAVP): per-frame MSE (summed over a
frame's pixels), per-pixel MSE and MAE, PSNR and SSIM for every predicted step and averaged, for
the model and for the copy-last-frame baseline side by side. With `samples > 1` each video's score
is that of its best continuation out of `samples` (SAVP's best-of-N).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import torch
from torch import nn

from multigan.core.errors import MultiganError
from multigan.metrics.video import DEFAULT_METRICS, accumulate, best_of_n, per_frame, summarize
from multigan.video.adapter import VideoAdapter
from multigan.video.models import VideoGenerator
from multigan.video.pipeline import VideoPipeline, to_unit

HEADLINE = ("mse", "psnr", "ssim")


@dataclass
class PredictionReport:
    context: int
    predict: int
    clips: int
    samples: int
    model: dict[str, dict] = field(default_factory=dict)
    copy_last: dict[str, dict] = field(default_factory=dict)
    blank: dict[str, dict] = field(default_factory=dict)  # every predicted frame the context's darkest

    def lines(self, per_step: bool = True) -> list[str]:
        best = f", best of {self.samples} samples" if self.samples > 1 else ""
        out = [f"{self.context} -> {self.predict} frames on {self.clips} held-out clips{best}:"]
        out.append(f"  {'metric':<10} {'model':>10} {'copy-last':>10} {'blank':>10}")
        for name in self.model:
            row = (self.model[name]["mean"], self.copy_last[name]["mean"], self.blank[name]["mean"])
            out.append(f"  {name:<10} " + " ".join(f"{v:>10.4f}" for v in row))
        if per_step:
            for name in HEADLINE:
                steps = " ".join(f"{v:.4f}" for v in self.model[name]["per_step"])
                out.append(f"  {name} per step (model): {steps}")
        return out

    def beats_copy_last(self) -> dict[str, bool]:
        return {
            "mse": self.model["mse"]["mean"] < self.copy_last["mse"]["mean"],
            "psnr": self.model["psnr"]["mean"] > self.copy_last["psnr"]["mean"],
            "ssim": self.model["ssim"]["mean"] > self.copy_last["ssim"]["mean"],
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__ | {"beats_copy_last": self.beats_copy_last()}, indent=1))


@torch.no_grad()
def evaluate_prediction(
    adapter: VideoAdapter,
    G: nn.Module,
    *,
    context: int = 10,
    predict: int = 10,
    samples: int = 1,
    max_clips: int = 0,
    batch_size: int = 16,
    seed: int = 0,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
) -> PredictionReport:
    if context < 1 or predict < 1 or samples < 1:
        raise MultiganError("--context, --predict and --samples must be at least 1")
    model = VideoPipeline(adapter.cfg, cast(VideoGenerator, G))
    try:
        ds = adapter.heldout(predict, context)
    except MultiganError as err:
        raise MultiganError(f"{err}; choose shorter clips with --context and --predict") from None
    n = len(ds) if max_clips <= 0 else min(max_clips, len(ds))
    model_values = copy_values = blank_values = None
    for start in range(0, n, batch_size):
        clips = to_unit(torch.stack([ds[i] for i in range(start, min(start + batch_size, n))]))
        ctx, truth = clips[:, :context], clips[:, context:]
        preds = model.continue_clips(ctx, predict, seed=seed + start, samples=samples)
        unit = lambda x: x.add(1).div(2).clamp(0, 1)
        target = unit(truth)
        if samples == 1:
            values = per_frame(unit(preds[0]), target, metrics)
        else:
            values = best_of_n(unit(preds), target, metrics)
        copy = unit(ctx[:, -1:]).expand_as(target)
        # "Blank": the background alone, a frame of the context's per-pixel minimum over time;
        # black for moving digits. A predictor that has learned nothing about motion gets this far.
        blank = unit(ctx.amin(dim=1, keepdim=True)).expand_as(target)
        model_values = accumulate(model_values, values)
        copy_values = accumulate(copy_values, per_frame(copy, target, metrics))
        blank_values = accumulate(blank_values, per_frame(blank, target, metrics))
    if model_values is None or copy_values is None or blank_values is None:
        raise MultiganError("no held-out clips to score")
    return PredictionReport(
        context, predict, n, samples, summarize(model_values), summarize(copy_values), summarize(blank_values)
    )
