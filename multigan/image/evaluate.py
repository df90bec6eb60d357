"""Scores of a trained image generator against the run's images (multigan.metrics.image does the maths)."""

from __future__ import annotations

import torch

from multigan.core.errors import MultiganError
from multigan.image.pipeline import ImagePipeline
from multigan.metrics.image import NO_MEANINGFUL_FID, ImageEvaluation, evaluate_images, inception_available


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
        real.float() / 127.5 - 1, torch.cat(chunks), inception=inception, digits=digits, device=model.device
    )


def use_inception(model: ImagePipeline, requested: bool) -> bool | None:
    """Whether to score `model` on Inception features: asked for, or a run on images other than the
    embedded digits with the metrics extra installed. None: nothing meaningful can be scored (other
    images, no metrics extra); say NO_MEANINGFUL_FID instead."""
    if requested or model.cfg.data.path == "":
        return requested
    return True if inception_available() else None


__all__ = ["NO_MEANINGFUL_FID", "evaluate_generator", "use_inception"]
