"""Text metrics: NLL, BLEU-n against references, Self-BLEU-n, distinct-n. Pure Python, no nltk.

BLEU here is the sentence BLEU that Texygen (Zhu et al. 2018) computes with nltk and that the text
GAN literature reports, averaged over hypotheses:

- modified n-gram precision p_k for k = 1..n: each hypothesis n-gram count is clipped by its
  largest count in any one reference; the denominator is max(1, number of hypothesis k-grams);
- smoothing "method1" of Chen & Cherry (2014) as in nltk: a precision whose numerator is 0 becomes
  epsilon / denominator with epsilon = 0.1; but a hypothesis with no unigram match scores 0;
- uniform weights 1/n; brevity penalty exp(1 - r/c) when c <= r, with r the reference length
  closest to the hypothesis length c (ties to the shorter), and 0 for an empty hypothesis.

Self-BLEU scores each sample against all the other samples, never itself. Sequences are lists of
hashable units (token ids, words, characters); the caller picks the unit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import torch

Seq = Sequence[Hashable]
EPSILON = 0.1


def ngrams(seq: Seq, n: int) -> Counter:
    return Counter(tuple(seq[i : i + n]) for i in range(len(seq) - n + 1))


def _closest(lengths: Iterable[int], c: int) -> int:
    return min(lengths, key=lambda r: (abs(r - c), r))


def _combine(numerators: list[int], denominators: list[int], c: int, r: int) -> float:
    if c == 0 or numerators[0] == 0:
        return 0.0
    n = len(numerators)
    log_p = 0.0
    for num, den in zip(numerators, denominators):
        log_p += math.log((num if num > 0 else EPSILON) / den) / n
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return bp * math.exp(log_p)


def sentence_bleu(hypothesis: Seq, references: Sequence[Seq], n: int) -> float:
    """BLEU-n of one hypothesis against references (the definition above)."""
    if not references:
        raise ValueError("sentence_bleu needs at least one reference")
    nums, dens = [], []
    for k in range(1, n + 1):
        counts = ngrams(hypothesis, k)
        best: Counter = Counter()
        for ref in references:
            best |= ngrams(ref, k)  # elementwise max
        nums.append(sum(min(c, best[g]) for g, c in counts.items()))
        dens.append(max(1, sum(counts.values())))
    return _combine(nums, dens, len(hypothesis), _closest((len(r) for r in references), len(hypothesis)))


class _MaxCounts:
    """For every n-gram (k = 1..n) the largest and second-largest count over the references, and
    which reference holds the largest: the max over "all references but one" in O(1)."""

    def __init__(self, references: Sequence[Seq], n: int) -> None:
        self.n = n
        self.tables: list[dict[tuple, tuple[int, int, int]]] = []
        for k in range(1, n + 1):
            table: dict[tuple, tuple[int, int, int]] = {}
            for idx, ref in enumerate(references):
                for g, c in ngrams(ref, k).items():
                    c1, i1, c2 = table.get(g, (0, -1, 0))
                    if c > c1:
                        table[g] = (c, idx, c1)
                    elif c > c2:
                        table[g] = (c1, i1, c)
            self.tables.append(table)
        self.lengths = Counter(len(r) for r in references)

    def score(self, hyp: Seq, n: int, exclude: int = -1, exclude_len: int | None = None) -> float:
        nums, dens = [], []
        for k in range(1, n + 1):
            table = self.tables[k - 1]
            counts = ngrams(hyp, k)
            num = 0
            for g, c in counts.items():
                c1, i1, c2 = table.get(g, (0, -1, 0))
                num += min(c, c2 if i1 == exclude else c1)
            nums.append(num)
            dens.append(max(1, sum(counts.values())))
        lengths = self.lengths
        if exclude_len is not None:
            lengths = lengths.copy()
            lengths[exclude_len] -= 1
        candidates = [r for r, m in lengths.items() if m > 0]
        return _combine(nums, dens, len(hyp), _closest(candidates, len(hyp)))


def bleu(
    hypotheses: Sequence[Seq], references: Sequence[Seq], orders: Iterable[int] = (2, 3, 4, 5)
) -> dict[int, float]:
    """Mean sentence BLEU-n of the hypotheses against the whole reference set, for each n."""
    orders = list(orders)
    if not hypotheses or not references:
        raise ValueError("bleu needs at least one hypothesis and one reference")
    table = _MaxCounts(references, max(orders))
    return {n: sum(table.score(h, n) for h in hypotheses) / len(hypotheses) for n in orders}


def self_bleu(samples: Sequence[Seq], orders: Iterable[int] = (2, 3, 4, 5)) -> dict[int, float]:
    """Mean BLEU-n of each sample against all the other samples (never itself)."""
    orders = list(orders)
    if len(samples) < 2:
        raise ValueError("self_bleu needs at least two samples")
    table = _MaxCounts(samples, max(orders))
    return {
        n: sum(table.score(s, n, exclude=i, exclude_len=len(s)) for i, s in enumerate(samples)) / len(samples)
        for n in orders
    }


def distinct_n(samples: Sequence[Seq], n: int) -> float:
    """Distinct n-grams over all n-grams in the samples (0 when there are none)."""
    total: Counter = Counter()
    for s in samples:
        total.update(ngrams(s, n))
    count = sum(total.values())
    return len(total) / count if count else 0.0


@torch.no_grad()
def nll(G, rows: torch.Tensor, *, batch: int = 256, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood per real token of `rows` under a generator (duck-typed:
    `log_probs(tokens)` and `token_mask(tokens)`, as multigan.text.generators provides).

    With a `temperature` T other than 1 the distribution is the one sampling at T draws from,
    log_softmax(logits / T) (the generator's `G(tokens)` gives the logits): NLL-test along a
    temperature curve (Caccia et al. 2020). T = 1 is `log_probs` itself, unchanged."""
    if not temperature > 0:
        raise ValueError(f"nll: temperature must be > 0, got {temperature}")
    total, count = 0.0, 0.0
    device = next(G.parameters()).device
    for part in rows.split(batch):
        part = part.to(device)
        mask = G.token_mask(part)
        if temperature == 1.0:
            log_p = G.log_probs(part)
        else:
            scaled = torch.log_softmax(G(part).float() / temperature, -1)
            log_p = scaled.gather(-1, part.unsqueeze(-1)).squeeze(-1)
        total += -(log_p.double() * mask).sum().item()
        count += mask.sum().item()
    return total / max(count, 1.0)
