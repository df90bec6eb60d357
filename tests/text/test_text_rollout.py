import copy

import pytest
import torch

from multigan.text.rollout import lag_update, mc_rewards, mc_rewards_loop, policy_gradient_loss


def always_zero(G):
    """Make a generator's next-token distribution put all its mass on token 0, whatever the input."""
    with torch.no_grad():
        if hasattr(G, "out"):  # LSTM
            G.out.weight.zero_()
            G.out.bias.fill_(-1e4)
            G.out.bias[0] = 1e4
        else:  # GPT-2: a constant final hidden state, and an output row that favours token 0
            G.model.config.tie_word_embeddings = False
            head = torch.nn.Linear(G.model.lm_head.in_features, G.model.lm_head.out_features, bias=False)
            G.model.lm_head = head
            G.model.transformer.ln_f.weight.zero_()
            G.model.transformer.ln_f.bias.fill_(1.0)
            head.weight.zero_()
            head.weight[0].fill_(1e3)
    return G


@pytest.mark.parametrize("max_rows", [10_000, 7])
def test_every_reward_lands_on_its_own_sample_and_time_step(make_generator, max_rows):
    G = always_zero(make_generator(vocab=30))
    B, T = 5, 7
    tokens = torch.randint(1, 30, (B, T), generator=torch.Generator().manual_seed(0))
    tokens[:, 0] = torch.arange(1, B + 1)  # the first token names the sample

    def identity_and_position(x):  # rollouts fill with 0, so the nonzero count is the prefix length
        return x[:, 0].float() * 100 + (x != 0).sum(1).float()

    rewards = mc_rewards(G, tokens, identity_and_position, 3, max_rows=max_rows)
    expected = torch.arange(1, B + 1).float()[:, None] * 100 + torch.arange(1, T + 1).float()
    assert torch.equal(rewards, expected)
    assert torch.equal(mc_rewards_loop(G, tokens, identity_and_position, 2), expected)


def exact_rewards(G, tokens, score):
    """E[score] over every completion of every prefix, by enumeration (tiny vocabulary and length)."""
    B, T = tokens.shape
    out = torch.zeros(B, T)
    for t in range(1, T):
        completions = torch.cartesian_prod(*[torch.arange(G.vocab_size)] * (T - t)).reshape(-1, T - t)
        for b in range(B):
            seqs = torch.cat([tokens[b, :t].expand(len(completions), t), completions], 1)
            p = G.log_probs(seqs)[:, t:].sum(1).exp()
            out[b, t - 1] = (p * score(seqs)).sum() / p.sum()
    out[:, -1] = score(tokens)
    return out


def score_fn(x):
    return (x == 1).float().mean(1) + (x[:, -1] == 2).float()


@torch.no_grad()
def test_batched_rewards_match_the_exact_expectation(make_generator):
    G = make_generator(vocab=4)
    tokens = G.sample(3, 5, rng=torch.Generator().manual_seed(0))
    batched = mc_rewards(G, tokens, score_fn, 4000, rng=torch.Generator().manual_seed(1))
    # each reward is a mean of 4000 scores in [0, 2]: standard error <= 1 / sqrt(4000) ~ 0.016
    assert (batched - exact_rewards(G, tokens, score_fn)).abs().max() < 0.065


@torch.no_grad()
def test_per_prefix_loop_matches_the_exact_expectation(lstm_factory):
    G = lstm_factory(vocab=4)
    tokens = G.sample(2, 3, rng=torch.Generator().manual_seed(0))

    def half_score(x):  # in [0, 1]: standard deviation <= 0.5
        return score_fn(x) / 2

    loop = mc_rewards_loop(G, tokens, half_score, 250, rng=torch.Generator().manual_seed(2))
    assert (loop - exact_rewards(G, tokens, half_score)).abs().max() < 0.13  # 4 standard errors


def test_rollouts_respect_eos(make_generator):
    G = make_generator(vocab=6, eos_id=2)
    tokens = torch.tensor([[1, 2, 2, 2, 2], [3, 4, 5, 1, 3]])
    seen = []

    def record(x):
        seen.append(x.clone())
        return torch.zeros(len(x))

    mc_rewards(G, tokens, record, 4, rng=torch.Generator().manual_seed(0))
    rows = torch.cat(seen)
    ended = (rows[:, 0] == 1) & (rows[:, 1] == 2)  # sample 0's prefixes of length >= 2 hold its EOS
    assert ended.sum() > 4 * 3
    assert torch.all(rows[ended][:, 2:] == 2)  # so its rollouts only add EOS


def test_policy_gradient_step_raises_the_rewarded_token(lstm_factory):
    G = lstm_factory(vocab=6, std=0.1).train()
    opt = torch.optim.SGD(G.parameters(), lr=0.5)
    p_before = torch.softmax(G.begin(1)[0], -1)[0, 4].item()
    tokens = G.sample(256, 4, rng=torch.Generator().manual_seed(0))
    rewards = (tokens == 4).float()  # only token 4 is rewarded, wherever it appears
    for baseline in (False, True):
        loss, logs = policy_gradient_loss(G, tokens, rewards, baseline=baseline)
        assert torch.isfinite(loss) and "reward" in logs
    opt.zero_grad()
    policy_gradient_loss(G, tokens, rewards, baseline=True)[0].backward()
    opt.step()
    p_after = torch.softmax(G.begin(1)[0], -1)[0, 4].item()
    assert p_after > p_before


def test_lagged_policy_moves_a_fifth_of_the_way(lstm_factory):
    G = lstm_factory()
    lagged = copy.deepcopy(G)
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    before = [p.clone() for p in lagged.parameters()]
    lag_update(lagged, G, 0.8)
    for b, p in zip(before, lagged.parameters()):
        assert torch.allclose(p, b + 0.2)
