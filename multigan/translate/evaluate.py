"""Scores of a trained translator on the run's held-out images (multigan.metrics.translate does the maths).

Per learned direction, three rows, so that every figure has its floor and ceiling beside it:
- "translation" ("reference-guided" in mode=reference: each source takes the style of the next
  source's partner, a held-out image of the target domain);
- "identity map": the source itself, untranslated;
- "random target": a real held-out image of the target domain, drawn at random (seeded).

Metrics, where the data allows them:
- labels_kept: a digit classifier trained only on real training images of the output domain
  (embedded data; it never sees a translation) reads the digit the source shows;
- SSIM and PSNR against the exact paired truth (paired data; mode=reference on the embedded data:
  the source digit blended with the reference's own colour patch);
- FID between the outputs and the real training images of the output domain, on that classifier's
  128-d features. Unlabelled data (your folders) has no such classifier, and the toolkit's digit
  features mean nothing on photos: FID there is Inception FID (`--inception`, the `metrics` extra)
  or none, and the protocol says which;
- style_error (mode=reference): how far the output's colour and texture statistics are from the
  reference's.
The final checkpoint is scored, never a best one (the protocol records which step).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from multigan.core.health import QuickMetric
from multigan.metrics.image import frechet_distance, inception_features
from multigan.metrics.translate import (
    TranslationReport,
    domain_classifier,
    domain_fid,
    image_psnr,
    image_ssim,
    labels_kept,
    style_error,
)
from multigan.translate.adapter import TranslateAdapter
from multigan.translate.data import Domains, blend_digits
from multigan.translate.pipeline import TranslatePipeline, to_float

CHUNK = 250
NO_FID = (
    "none: the toolkit's digit features mean nothing on these images; for Inception FID install the metrics "
    "extra (pip install -e '.[metrics]') and run evaluate --inception"
)


def _chunked(fn: Callable[..., torch.Tensor], images: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
    out = []
    for i in range(0, images.shape[0], CHUNK):
        ref = None if style is None else style[i : i + CHUNK]
        out.append(fn(images[i : i + CHUNK], ref))
    return torch.cat(out)


def evaluate_translation(
    model: TranslatePipeline, domains: Domains, *, seed: int = 0, inception: bool = False
) -> TranslationReport:
    device = model.device
    labelled = domains.labels_test is not None
    rows: dict[str, dict[str, dict[str, float]]] = {}
    g = torch.Generator().manual_seed(seed)
    for direction in model.directions:
        a2b = direction == "a2b"
        source, target = (domains.test_a, domains.test_b) if a2b else (domains.test_b, domains.test_a)
        train_target = domains.train_b if a2b else domains.train_a
        truth = target if domains.paired else None
        candidates: dict[str, torch.Tensor] = {}
        references = None
        if model.reference_guided:
            references = target.roll(1, dims=0)
            truth = None  # the partner is not the source in another reference's style
            if domains.test_patches is not None:  # the source digit in the reference's own colour patch
                truth = blend_digits(domains.test_a, domains.test_patches.roll(1, dims=0)) if a2b else domains.test_a
            candidates["reference-guided"] = _chunked(
                lambda x, ref, d=direction: model.translate(x, d, style=ref), source, references
            )
        else:
            candidates["translation"] = _chunked(lambda x, _, d=direction: model.translate(x, d), source)
        candidates["identity map"] = source
        candidates["random target"] = target[torch.randperm(target.shape[0], generator=g)]

        classifier = None
        labels_train = domains.labels_train_b if a2b else domains.labels_train_a
        if labelled and labels_train is not None:
            classifier = domain_classifier(train_target, labels_train, device=device)
        real = to_float(train_target)
        inception_real = inception_features(real, device) if inception else None

        rows[direction] = {}
        for name, images in candidates.items():
            x = to_float(images)
            scores: dict[str, float] = {}
            if classifier is not None and domains.labels_test is not None:
                scores["labels_kept"] = labels_kept(classifier, x, domains.labels_test)
            if truth is not None:
                y = to_float(truth)
                scores["SSIM"], scores["PSNR"] = image_ssim(x, y), image_psnr(x, y)
            # a Fréchet distance needs 2 images at least (the protocol says how many there were)
            if classifier is not None and x.shape[0] >= 2:
                scores["FID"] = domain_fid(classifier, real, x, device=device)
            if inception_real is not None and x.shape[0] >= 2:
                scores["FID_inception"] = frechet_distance(inception_real, inception_features(x, device))
            if references is not None:
                scores["style_error"] = style_error(x, to_float(references))
            rows[direction][name] = scores

    protocol = {
        "mode": model.cfg.mode,
        "checkpoint": str(model.checkpoint) if model.checkpoint is not None else None,
        "scored": "the final checkpoint (never a best one)",
        "held_out_images": {"a": int(domains.test_a.shape[0]), "b": int(domains.test_b.shape[0])},
        "paired_truth": domains.test_patches is not None if model.reference_guided else domains.paired,
        "fid_reference": "the real training images of the output domain",
        "fid_features": "a classifier of the output domain's real training digits (128-d)"
        if labelled
        else NO_FID
        if not inception
        else "Inception-v3 pool features (2048-d)",
        "classifier": "trained on real images of the output domain only (training writers), never on translations"
        if labelled
        else None,
        "references": "each source takes the next source's partner" if model.reference_guided else None,
        "seed": seed,
    }
    return TranslationReport(rows, protocol)


def quick_metric(adapter: TranslateAdapter, num: int = 200) -> QuickMetric:
    """What `train.eval_every` measures on the first `num` held-out A images translated to B: the
    share whose digit survives (labelled data; the domain classifier `evaluate` uses), else SSIM
    against the paired truth (paired folders). A translation is conditioned on its source, so no
    diversity is watched; unlabelled unpaired data has no quick score."""
    domains = adapter.domains
    source, target = domains.test_a[:num], domains.test_b[:num]
    labelled = domains.labels_test is not None and domains.labels_train_b is not None
    classifier: list[torch.nn.Module] = []  # trained (or read from the cache) at the first evaluation

    def measure(G: nn.Module) -> dict[str, float]:
        model = adapter.pipeline(G)
        style = target.roll(1, dims=0) if model.reference_guided else None
        out = to_float(model.translate(source, "a2b", style=style))
        if labelled and domains.labels_test is not None and domains.labels_train_b is not None:
            if not classifier:
                classifier.append(domain_classifier(domains.train_b, domains.labels_train_b, device=model.device))
            return {"a2b_labels_kept": labels_kept(classifier[0], out, domains.labels_test[:num])}
        return {"a2b_ssim": image_ssim(out, to_float(target))}

    if labelled:
        return QuickMetric("a2b_labels_kept", False, measure)
    if domains.paired and not adapter.cfg.mode == "reference":
        return QuickMetric("a2b_ssim", False, measure)
    return QuickMetric(None, False, lambda G: {}, "no quick score without labels or paired truth")
