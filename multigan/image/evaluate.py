"""Scores of a trained image generator against the run's images (multigan.metrics.image does the maths)."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from multigan.core.errors import MultiganError
from multigan.core.health import DIVERSITY, QuickMetric
from multigan.image.adapter import ImageAdapter
from multigan.image.data import describe_images
from multigan.image.models import Generator
from multigan.image.pipeline import ImagePipeline
from multigan.metrics.diversity import sample_spread
from multigan.metrics.image import (
    NO_MEANINGFUL_FID,
    ImageEvaluation,
    batched,
    digit_classifier,
    evaluate_images,
    frechet_distance,
    inception_available,
)


def evaluate_generator(
    model: ImagePipeline, real: torch.Tensor, *, num_fake: int, seed: int = 0, inception: bool = False
) -> ImageEvaluation:
    """Generate `num_fake` images (batches of 250, seeds seed, seed+1, ...) and score them against
    `real` (uint8 (n, C, H, W)): on the digit features for the embedded digits, on Inception features
    with `inception` (the metrics extra; a run on other images needs it: digit features mean nothing there)."""
    if num_fake < 2:
        raise MultiganError("--num must be at least 2")
    chunks = [model.sample(min(250, num_fake - i), seed=seed + k) for k, i in enumerate(range(0, num_fake, 250))]
    digits = model.cfg.data.path == ""
    return evaluate_images(
        real.float() / 127.5 - 1, torch.cat(chunks), inception=inception, digits=digits, device=model.device,
        real_split=describe_images(model.cfg.data), seed=seed,
    )  # fmt: skip


def use_inception(model: ImagePipeline, requested: bool) -> bool | None:
    """Whether to score `model` on Inception features: asked for, or a run on images other than the
    embedded digits with the metrics extra installed. None: nothing meaningful can be scored (other
    images, no metrics extra); say NO_MEANINGFUL_FID instead."""
    if requested or model.cfg.data.path == "":
        return requested
    return True if inception_available() else None


def quick_metric(adapter: ImageAdapter, num: int = 500) -> QuickMetric:
    """What `train.eval_every` measures: digit-feature FID of `num` samples (fixed noise) against a
    fixed `num` of the digits, and the spread of the samples (multigan.metrics.diversity). On other images there is no
    meaningful quick FID (Inception is minutes on a CPU), so only the diversity is watched."""
    cfg = adapter.cfg
    digits = cfg.data.path == ""
    real = adapter.data.images[torch.randperm(len(adapter.data), generator=torch.Generator().manual_seed(0))[:num]]
    real_features: dict[str, torch.Tensor] = {}  # per device, computed at the first evaluation

    def measure(G: nn.Module) -> dict[str, float]:
        model = ImagePipeline(cfg, cast(Generator, G))
        fake = model.sample(num, seed=0)
        values = {DIVERSITY: sample_spread(fake)}
        if digits:
            clf = digit_classifier(model.device)
            key = str(model.device)
            if key not in real_features:
                real_features[key] = batched(clf.features, real.float() / 127.5 - 1, model.device)
            values["digits_fid"] = frechet_distance(real_features[key], batched(clf.features, fake, model.device))
        return values

    why = "" if digits else "no quick FID for images other than the embedded digits (see docs/IMAGE.md)"
    return QuickMetric("digits_fid" if digits else None, True, measure, why)


__all__ = ["NO_MEANINGFUL_FID", "evaluate_generator", "quick_metric", "use_inception"]
