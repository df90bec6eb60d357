"""Reference values of SSIM, BLEU and Self-BLEU, computed once with the libraries the field uses.

    pip install scikit-image nltk numpy        # in any environment; multigan and torch are not needed
    python scripts/pin_reference_metrics.py    # the constants tests/metrics/test_reference_metrics.py pins

The inputs come from a small integer generator (below, shared with the test), so the test rebuilds
exactly the same frames and sentences without these libraries. The references:
- SSIM: skimage.metrics.structural_similarity with gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=1.0, per frame over the channels (multigan.metrics.video.ssim's
  definition: Wang et al. 2004, 11x11 Gaussian window, valid windows only);
- BLEU-n and Self-BLEU-n: nltk.translate.bleu_score.sentence_bleu with uniform weights and
  SmoothingFunction().method1, averaged over hypotheses (Texygen's protocol).
"""

from __future__ import annotations

FRAME_SHAPE = (2, 2, 3, 20, 24)  # (clips, frames, channels, height, width)
WORDS = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran"]
ORDERS = (2, 3, 4, 5)


def uniform(seed: int, n: int) -> list[float]:
    """n numbers in [0, 1) from a 32-bit linear congruential generator (Numerical Recipes' constants)."""
    x, out = seed, []
    for _ in range(n):
        x = (1664525 * x + 1013904223) % 2**32
        out.append(x / 2**32)
    return out


def frames() -> tuple[list[float], list[float]]:
    """(prediction, target) as flat lists in [0, 1] of FRAME_SHAPE, row-major; the target is
    correlated with the prediction so that SSIM is neither 0 nor 1."""
    size = 1
    for d in FRAME_SHAPE:
        size *= d
    pred = uniform(1, size)
    noise = uniform(2, size)
    return pred, [0.7 * p + 0.3 * q for p, q in zip(pred, noise)]


def sentences(seed: int, count: int) -> list[list[str]]:
    """`count` sentences of 4 to 14 words from WORDS."""
    draws = uniform(seed, count * 15)
    out = []
    for i in range(count):
        row = draws[i * 15 : (i + 1) * 15]
        length = 4 + int(row[0] * 11)
        out.append([WORDS[int(v * len(WORDS))] for v in row[1 : 1 + length]])
    return out


def hypotheses() -> list[list[str]]:
    return sentences(3, 12)


def references() -> list[list[str]]:
    return sentences(4, 8)


def main() -> None:
    import numpy as np
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from skimage.metrics import structural_similarity

    pred, target = (np.array(v, dtype=np.float64).reshape(FRAME_SHAPE) for v in frames())
    values = [
        [
            structural_similarity(
                pred[b, t],
                target[b, t],
                channel_axis=0,
                data_range=1.0,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )  # fmt: skip
            for t in range(FRAME_SHAPE[1])
        ]
        for b in range(FRAME_SHAPE[0])
    ]
    print(f"SSIM = {[[float(v) for v in row] for row in values]!r}")
    smooth = SmoothingFunction().method1

    def score(refs: list[list[str]], hyp: list[str], n: int) -> float:
        return sentence_bleu(refs, hyp, weights=(1 / n,) * n, smoothing_function=smooth)

    hyps, refs = hypotheses(), references()
    bleu = {n: sum(score(refs, h, n) for h in hyps) / len(hyps) for n in ORDERS}
    self_bleu = {n: sum(score(hyps[:i] + hyps[i + 1 :], h, n) for i, h in enumerate(hyps)) / len(hyps) for n in ORDERS}
    print(f"BLEU = {bleu!r}")
    print(f"SELF_BLEU = {self_bleu!r}")


if __name__ == "__main__":
    main()
