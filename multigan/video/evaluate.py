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
from multigan.core.health import QuickMetric
from multigan.metrics.image import digit_classifier, frechet_distance
from multigan.metrics.motion import digit_centres, digit_crops, majority, motion_axis
from multigan.metrics.video import DEFAULT_METRICS, accumulate, baselines, best_of_n, per_frame, summarize
from multigan.video.adapter import VideoAdapter
from multigan.video.data import MOTIONS, caption_of, parse_caption, seen_pair
from multigan.video.models import VideoGenerator
from multigan.video.pipeline import VideoPipeline, to_zero_one

HEADLINE = ("mse", "psnr", "ssim")


PROTOCOL = (
    "values in [0, 1]; frame_mse: summed over a frame's pixels (OpenSTL's MSE); mse, mae: per pixel; "
    "psnr: 10 log10(1 / mse) of each frame, then averaged over frames"
)


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
        out.append(f"  ({PROTOCOL})")
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
        clips, captions = adapter.heldout_clips(min(batch_size, n - start), context, predict, start=start)
        ctx, truth = clips[:, :context], clips[:, context:]
        caption = adapter.encode(captions) if adapter.keywords else None
        preds = model.continue_clips(ctx, predict, seed=seed + start, samples=samples, caption=caption)
        target = to_zero_one(truth)
        if samples == 1:
            values = per_frame(to_zero_one(preds[0]), target, metrics)
        else:
            values = best_of_n(to_zero_one(preds), target, metrics)
        reference = baselines(to_zero_one(ctx), predict)
        model_values = accumulate(model_values, values)
        copy_values = accumulate(copy_values, per_frame(reference["copy_last"], target, metrics))
        blank_values = accumulate(blank_values, per_frame(reference["blank"], target, metrics))
    if model_values is None or copy_values is None or blank_values is None:
        raise MultiganError("no held-out clips to score")
    return PredictionReport(
        context, predict, n, samples, summarize(model_values), summarize(copy_values), summarize(blank_values)
    )


# ------------------------------------------------------------------------------ keywords


@dataclass
class CaptionReport:
    """Does a clip show the captioned digits doing the captioned motions? (moving-digit grammars)

    rows[mode][split] = {"clips", "digit", "motion", "joint"}: accuracies in [0, 1]. Modes:
    "keywords" (clips drawn from the caption alone), "seed+keywords" (a held-out clip's first
    frames continued following its caption), "seed+other motion" (the same seeds, each digit's
    motion swapped in the caption: the clip must follow the words, not the seed), "real" (the
    recorded held-out clips: what the measurement itself gets right), and "wrong caption"
    (keyword clips scored against another pair's caption: a control that should stay near chance).
    Splits: "seen" and "held-out" (digit, motion) pairs. `frechet`: Fréchet distance of the
    digit classifier's features of the frames of keyword clips against those of real clips.
    """

    grammar: str
    frames: int
    chance: float
    frechet: float
    rows: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"Caption accuracy ({self.grammar}-digit grammar, {self.frames}-frame clips; joint by chance: "
            f"{self.chance:.2%}):",
            f"  {'mode':<18} {'split':<9} {'clips':>6} {'digit':>7} {'motion':>7} {'joint':>7}",
        ]
        for mode, splits in self.rows.items():
            for split, r in splits.items():
                out.append(
                    f"  {mode:<18} {split:<9} {int(r['clips']):>6} {r['digit']:>7.1%} {r['motion']:>7.1%} "
                    f"{r['joint']:>7.1%}"
                )
        out.append(f"  Fréchet distance of frame features, keyword clips vs real: {self.frechet:.3f}")
        return out


def _score(
    clips: torch.Tensor, pairs: list[list[tuple[int, int]]], classifier: nn.Module, box: int
) -> dict[str, torch.Tensor]:
    """Per clip: fraction of named digits recognised, of motions right, and whether all are right.

    clips (n, t, 1, h, w) in [-1, 1]. With two digits, tracks are matched to the caption's pairs in
    the order that gets more of them right."""
    unit = to_zero_one(clips[:, :, 0])
    unit = torch.where(unit < 0.25, torch.zeros_like(unit), unit)  # faint background would pull the centres
    k = len(pairs[0])
    centres = digit_centres(unit, num_digits=k)
    axes = motion_axis(centres)  # (n, k)
    crops = digit_crops(unit, centres, box)  # (n, k, t, box, box)
    n, _, t = crops.shape[:3]
    logits = classifier(crops.reshape(n * k * t, 1, box, box).mul(2).sub(1))
    digits = majority(logits.argmax(1).reshape(n, k, t).cpu())
    axes = axes.cpu()
    digit_ok, motion_ok, joint_ok = [], [], []
    for i, named in enumerate(pairs):
        best = None
        for order in ([0, 1], [1, 0]) if k == 2 else ([0],):
            d = [int(digits[i, j]) == named[o][0] for o, j in enumerate(order)]
            m = [int(axes[i, j]) == named[o][1] for o, j in enumerate(order)]
            score = (sum(a and b for a, b in zip(d, m)), sum(d) + sum(m))
            if best is None or score > best[0]:
                best = (score, d, m)
        assert best is not None
        _, d, m = best
        digit_ok.append(sum(d) / k)
        motion_ok.append(sum(m) / k)
        joint_ok.append(float(all(a and b for a, b in zip(d, m))))
    return {name: torch.tensor(v) for name, v in (("digit", digit_ok), ("motion", motion_ok), ("joint", joint_ok))}


def _rows(scores: dict[str, torch.Tensor], heldout: torch.Tensor) -> dict[str, dict[str, float]]:
    out = {}
    for split, rows in (("seen", ~heldout), ("held-out", heldout)):
        if rows.any():
            out[split] = {"clips": float(rows.sum())} | {k: float(v[rows].mean()) for k, v in scores.items()}
    return out


@torch.no_grad()
def evaluate_captions(
    adapter: VideoAdapter, G: nn.Module, *, per_pair: int = 10, seed: int = 0, batch_size: int = 50
) -> CaptionReport:
    """Caption accuracy of a keywords run on the captioned moving digits (data.grammar)."""
    cfg = adapter.cfg
    grammar = cfg.data.grammar
    if not (adapter.keywords and grammar):
        raise MultiganError("caption accuracy needs a keywords run on the captioned moving digits (data.grammar)")
    model = VideoPipeline(adapter.cfg, cast(VideoGenerator, G), tokenizer=adapter.tokenizer)
    device = model.device
    classifier = digit_classifier(device)
    box = max(4, round(cfg.data.size * 3 / 8))
    k, p = cfg.data.context, cfg.data.eval_predict
    length = k + p
    gen = torch.Generator().manual_seed(seed)

    def is_heldout(pairs: list[list[tuple[int, int]]]) -> torch.Tensor:
        return torch.tensor([not all(seen_pair(*q) for q in named) for named in pairs])

    def in_batches(fn, items: list) -> torch.Tensor:
        return torch.cat([fn(items[i : i + batch_size], i) for i in range(0, len(items), batch_size)])

    # Captions: every pair per_pair times (one digit), or random pairs of pairs (two digits)
    all_pairs = [(d, m) for d in range(10) for m in range(2)]
    if grammar == "single":
        named = [[q] for q in all_pairs for _ in range(per_pair)]
    else:
        picks = torch.randint(len(all_pairs), (10 * per_pair, 2), generator=gen).tolist()
        named = [[all_pairs[a], all_pairs[b]] for a, b in picks]
    captions = [caption_of(q) for q in named]
    drawn = in_batches(
        lambda c, i: model.draw_clips(adapter.encode(c), length, seed=seed + i)[0], captions
    )  # (n, length, c, h, w)
    rows: dict[str, dict[str, dict[str, float]]] = {}
    rows["keywords"] = _rows(_score(drawn, named, classifier, box), is_heldout(named))

    # Seeds: every held-out clip, continued following its own caption and with the motions swapped
    ds = adapter.heldout(p, k)
    real, real_captions = adapter.heldout_clips(len(ds), k, p)
    real_named = [parse_caption(c or "") for c in real_captions]
    keep = [i for i, q in enumerate(real_named) if len(q) == (1 if grammar == "single" else 2)]
    real, real_named = real[keep], [real_named[i] for i in keep]
    swapped = [[(d, 1 - m) for d, m in q] for q in real_named]

    def continued(names: list[list[tuple[int, int]]]) -> torch.Tensor:
        def run(batch: list, i: int) -> torch.Tensor:
            ctx = real[i : i + len(batch), :k]
            caption = adapter.encode([caption_of(q) for q in batch])
            return torch.cat([ctx, model.continue_clips(ctx, p, seed=seed + i, caption=caption)[0]], 1)

        return in_batches(run, names)

    rows["seed+keywords"] = _rows(_score(continued(real_named), real_named, classifier, box), is_heldout(real_named))
    rows["seed+other motion"] = _rows(_score(continued(swapped), swapped, classifier, box), is_heldout(swapped))
    rows["real"] = _rows(_score(real, real_named, classifier, box), is_heldout(real_named))
    shift = 1 + torch.randint(len(all_pairs) - 1, (len(named),), generator=gen)
    wrong = [[all_pairs[(all_pairs.index(q) + int(s)) % len(all_pairs)] for q in qs] for qs, s in zip(named, shift)]
    rows["wrong caption"] = _rows(_score(drawn, wrong, classifier, box), is_heldout(named))

    features = lambda clips: classifier.features(clips.flatten(0, 1).to(device)).cpu()  # noqa: E731
    frechet = frechet_distance(features(drawn), features(real))
    chance = (1 / (10 * len(MOTIONS))) ** (1 if grammar == "single" else 2)
    return CaptionReport(grammar, length, chance, frechet, rows)


# ------------------------------------------------------------------------------ in training


def quick_metric(adapter: VideoAdapter, clips: int = 64) -> QuickMetric:
    """What `train.eval_every` measures: per-pixel MSE of the first `clips` held-out clips continued
    data.context -> data.eval_predict frames (10 -> 10 by default), fixed noise. A continuation is
    conditioned on its context, so no diversity is watched: the score catches a collapse."""
    k, p = adapter.cfg.data.context, adapter.cfg.data.eval_predict

    def measure(G: nn.Module) -> dict[str, float]:
        report = evaluate_prediction(adapter, G, context=k, predict=p, max_clips=clips, metrics=("mse",))
        return {f"mse_{k}_to_{p}": report.model["mse"]["mean"]}

    return QuickMetric(f"mse_{k}_to_{p}", True, measure)
