import math

import pytest
import torch

from multigan.metrics.text import bleu, distinct_n, nll, self_bleu, sentence_bleu

HYP = "the cat sat on the mat".split()
REF = "the cat is on the mat".split()


def test_bleu_hand_computed():
    # p1 = 5/6 (the x2, cat, on, mat), p2 = 3/5 (the cat, on the, the mat), p3 = 1/4 (on the mat),
    # p4 = 0/3 -> smoothed to 0.1/3; equal lengths: no brevity penalty
    assert sentence_bleu(HYP, [REF], 2) == pytest.approx(math.sqrt(5 / 6 * 3 / 5))
    assert sentence_bleu(HYP, [REF], 3) == pytest.approx(0.5)
    assert sentence_bleu(HYP, [REF], 4) == pytest.approx((5 / 6 * 3 / 5 * 1 / 4 * 0.1 / 3) ** 0.25)
    assert sentence_bleu(HYP, [HYP], 5) == pytest.approx(1.0)


def test_brevity_penalty_clipping_and_no_match():
    assert sentence_bleu("the cat".split(), ["the cat sat on".split()], 2) == pytest.approx(math.exp(1 - 4 / 2))
    # "the" appears 3 times but at most twice in one reference: clipped to 2 (not 1 + 2 summed)
    assert sentence_bleu("the the the".split(), ["the x the".split(), "the y".split()], 1) == pytest.approx(2 / 3)
    assert sentence_bleu("x y".split(), ["a b".split()], 2) == 0.0
    # closest reference length, ties to the shorter: r = 2 for c = 3 among (2, 4)
    assert sentence_bleu("a b c".split(), ["a b".split(), "a b c d".split()], 1) == pytest.approx(1.0)
    assert sentence_bleu("a b c".split(), ["a b".split(), "a b x d".split()], 1) == pytest.approx(2 / 3)
    assert sentence_bleu("a b".split(), ["a b c".split(), "a".split()], 1) == pytest.approx(1.0)


def test_corpus_bleu_is_the_mean_over_hypotheses():
    refs = [REF, "a dog ran".split()]
    hyps = [HYP, "a dog ran".split(), "zzz".split()]
    scores = bleu(hyps, refs, orders=(2, 3))
    for n in (2, 3):
        assert scores[n] == pytest.approx(sum(sentence_bleu(h, refs, n) for h in hyps) / 3)


def test_self_bleu_scores_each_sample_against_the_others_never_itself():
    samples = ["a b".split(), "a b".split(), "c d".split()]
    assert self_bleu(samples, orders=(2,))[2] == pytest.approx(2 / 3)  # with itself it would be 1
    samples = [HYP, REF, "the cat is".split()]
    expected = sum(sentence_bleu(s, samples[:i] + samples[i + 1 :], 3) for i, s in enumerate(samples)) / 3
    assert self_bleu(samples, orders=(3,))[3] == pytest.approx(expected)


def test_distinct_n():
    samples = ["a b a b".split(), "a b c".split()]
    assert distinct_n(samples, 1) == pytest.approx(3 / 7)
    assert distinct_n(samples, 2) == pytest.approx(3 / 5)  # ab, ba, ab | ab, bc -> {ab, ba, bc}
    assert distinct_n([["a"]], 2) == 0.0


def test_nll_of_a_uniform_model_is_log_vocab(lstm_factory):
    G = lstm_factory(vocab=7)
    with torch.no_grad():
        G.out.weight.zero_()
        G.out.bias.zero_()
    rows = torch.randint(0, 7, (10, 5))
    assert nll(G, rows, batch=3) == pytest.approx(math.log(7), rel=1e-6)


def _constant_logits_lstm(lstm_factory, bias: list[float], eos_id: int | None = None):
    """An LSTM whose next-token logits are `bias` at every position (output weights zeroed)."""
    G = lstm_factory(vocab=len(bias), eos_id=eos_id)
    with torch.no_grad():
        G.out.weight.zero_()
        G.out.bias.copy_(torch.tensor(bias))
    return G


def test_nll_at_temperature_one_is_the_plain_nll_exactly(lstm_factory):
    G = lstm_factory(vocab=9, eos_id=2)
    rows = torch.randint(0, 9, (11, 6), generator=torch.Generator().manual_seed(0))
    total, count = 0.0, 0.0  # the definition before the temperature argument existed
    with torch.no_grad():
        for part in rows.split(3):
            mask = G.token_mask(part)
            total += -(G.log_probs(part).double() * mask).sum().item()
            count += mask.sum().item()
    assert nll(G, rows, batch=3) == nll(G, rows, batch=3, temperature=1.0) == total / count


def test_nll_at_a_temperature_is_the_scaled_softmax_by_hand(lstm_factory):
    # logits ln(1, 2, 4): at T = 0.5 the probabilities are (1, 4, 16) / 21, at T = 2 (1, sqrt 2, 2) / (3 + sqrt 2)
    G = _constant_logits_lstm(lstm_factory, [0.0, math.log(2), math.log(4)])
    rows = torch.tensor([[0, 1, 2, 2]])
    assert nll(G, rows) == pytest.approx(math.log(7) - (math.log(2) + 2 * math.log(4)) / 4, rel=1e-6)
    assert nll(G, rows, temperature=0.5) == pytest.approx(math.log(21) - 2.5 * math.log(2), rel=1e-6)
    assert nll(G, rows, temperature=2.0) == pytest.approx(math.log(3 + math.sqrt(2)) - 0.625 * math.log(2), rel=1e-6)
    # padding after the first EOS (token 0 here) stays out: tokens 1 and 0 count, the two 2s do not
    G = _constant_logits_lstm(lstm_factory, [0.0, math.log(2), math.log(4)], eos_id=0)
    assert nll(G, torch.tensor([[1, 0, 2, 2]]), temperature=0.5) == pytest.approx(math.log(21) - math.log(2), rel=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        nll(G, rows, temperature=0.0)
