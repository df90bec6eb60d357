import pytest
import torch

from multigan.core.errors import ConfigError
from multigan.text.generators import SamplingConfig, draw, filter_logits, mle_loss


def test_continuation_from_reused_prefix_state_equals_whole_sequence(make_generator):
    G = make_generator()
    full = G.sample(6, 9, rng=torch.Generator().manual_seed(1))
    for k in (1, 4, 8):
        rng = torch.Generator().manual_seed(1)
        G.sample(6, k, rng=rng)  # advance the RNG exactly as the whole-sequence draw did for k tokens
        logits, state = G.prefix(full[:, :k])  # the prefix run once, by teacher forcing
        rest, _, _ = G.continue_from(logits, state, 9 - k, rng=rng)
        assert torch.equal(rest, full[:, k:])


def test_prefix_state_expanded_across_samples_equals_per_row_prefix(make_generator):
    G = make_generator()
    seqs = G.sample(3, 7, rng=torch.Generator().manual_seed(0))
    logits_all, states = G.trajectory(seqs)
    index = torch.tensor([2, 2, 0, 1])
    state = G.select_state(G.prefix_state(states, 4), index)
    expanded, _, _ = G.continue_from(logits_all[index, 4], state, 3, sampling=SamplingConfig(temperature=0))
    for row, b in enumerate(index.tolist()):
        one_logits, one_state = G.prefix(seqs[b : b + 1, :4])
        one, _, _ = G.continue_from(one_logits, one_state, 3, sampling=SamplingConfig(temperature=0))
        assert torch.equal(expanded[row], one[0])


def test_trajectory_logits_match_teacher_forcing(make_generator):
    G = make_generator()
    seqs = G.sample(4, 6, rng=torch.Generator().manual_seed(0))
    logits_all, _ = G.trajectory(seqs)
    assert torch.allclose(logits_all[:, :-1], G(seqs), atol=1e-5)


def test_prompt_is_run_once_and_shared(make_generator):
    G = make_generator()
    prompt = torch.tensor([3, 4, 5])
    out = G.sample(5, 4, prompt=prompt, rng=torch.Generator().manual_seed(0))
    assert out.shape == (5, 4)
    rng = torch.Generator().manual_seed(0)
    logits, state = G.prefix(prompt.repeat(5, 1))
    again, _, _ = G.continue_from(logits, state, 4, rng=rng)
    assert torch.equal(out, again)


def test_top_k_and_top_p_keep_the_right_tokens():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = lambda cfg: torch.isfinite(filter_logits(logits, cfg))[0].tolist()
    assert kept(SamplingConfig(top_k=2)) == [True, True, False, False]
    assert kept(SamplingConfig(top_p=0.5)) == [True, False, False, False]
    assert kept(SamplingConfig(top_p=0.79)) == [True, True, False, False]
    assert kept(SamplingConfig(top_p=0.81)) == [True, True, True, False]
    assert kept(SamplingConfig(top_p=1.0)) == [True, True, True, True]


@pytest.mark.parametrize("sampler", ["icdf", "gumbel", "multinomial"])
def test_samplers_draw_from_the_distribution(sampler):
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0])
    logits = torch.log(probs).expand(20000, 5)
    tokens = draw(logits, SamplingConfig(sampler=sampler), torch.Generator().manual_seed(0))
    freq = torch.bincount(tokens, minlength=5).float() / 20000
    assert freq[4] == 0  # a zero-probability token is never drawn
    assert torch.allclose(freq, probs, atol=0.015)


def test_greedy_and_bad_sampling_settings():
    logits = torch.tensor([[0.1, 2.0, -1.0]])
    assert draw(logits, SamplingConfig(temperature=0), None).item() == 1
    with pytest.raises(ConfigError, match="top_p"):
        SamplingConfig(top_p=0)
    with pytest.raises(ConfigError, match="sampler"):
        SamplingConfig(sampler="beam")


def test_eos_ends_a_sample_and_padding_is_masked(make_generator):
    G = make_generator(eos_id=3)
    seqs = G.sample(64, 12, rng=torch.Generator().manual_seed(0))
    seen_eos = (seqs == 3).long().cumsum(1) > 0
    assert seen_eos.any()
    assert torch.all(seqs[seen_eos] == 3)  # after the first EOS only EOS
    mask = G.token_mask(seqs)
    first = (seqs == 3).float().argmax(1)
    row = int(torch.nonzero(seen_eos.any(1))[0])
    assert mask[row, : first[row] + 1].eq(1).all() and mask[row, first[row] + 1 :].eq(0).all()
    # changing the padding changes nothing in the MLE loss
    padded = seqs.clone()
    padded[(G.token_mask(seqs) == 0)] = 5
    assert torch.allclose(mle_loss(G, seqs), mle_loss(G, padded), atol=1e-6)
    assert torch.isclose(G.nll(seqs), mle_loss(G, seqs))
