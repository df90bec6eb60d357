"""Monte Carlo rewards for SeqGAN's policy gradient (Yu et al. 2017, eq. 4) and the loss itself.

For a sampled sequence y_1..y_T, the reward of token t < T is the mean discriminator score of N
rollouts that keep y_1..y_t and complete the rest with the rollout policy; the reward of token T
is the score of the sequence itself.

`mc_rewards` is batched. The policy runs over each sequence once (`trajectory`), which yields the
state after every prefix. The rollouts then advance in lock step over positions: at position j the
N copies of every sequence's length-j prefix join the batch (their state taken from that single
run and expanded N times), and every row already in the batch draws its token j. All rows in the
batch have consumed the same number of tokens, so LSTM states and KV caches simply concatenate, and
the work is the minimum: sum over t of N (T - t) token steps, in T - 1 model calls.

`mc_rewards_loop` has the structure of the public implementations (LantaoYu/SeqGAN's rollout.py,
TextGAN-PyTorch's utils/rollout.py): for every rollout and every prefix length, run the prefix
from scratch, then sample the completion. It gives the same rewards in expectation and is kept
as the baseline of the speed benchmark (scripts/bench_text_oracle.py).

Rewards are laid out [B, T] and every reward is computed from its own sequence: no reshape mixes
sequences and positions (tests/text/test_rollout.py checks it with a discriminator whose score
encodes both).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from multigan.text.generators import DEFAULT_SAMPLING, SamplingConfig, State, TextGenerator

ScoreFn = Callable[[torch.Tensor], torch.Tensor]  # tokens [R, T] -> scores [R]


def score_in_chunks(score_fn: ScoreFn, tokens: torch.Tensor, chunk: int) -> torch.Tensor:
    return torch.cat([score_fn(part) for part in tokens.split(chunk)])


@torch.no_grad()
def mc_rewards(
    policy: TextGenerator,
    tokens: torch.Tensor,
    score_fn: ScoreFn,
    num_rollouts: int,
    *,
    sampling: SamplingConfig = DEFAULT_SAMPLING,
    rng: torch.Generator | None = None,
    max_rows: int = 0,
) -> torch.Tensor:
    """Rewards [B, T] for `tokens` [B, T], at most `max_rows` rollout rows in flight (and per call of
    `score_fn`); 0: 1,024 on a CPU (cache-sized blocks measured fastest there), 16,384 elsewhere."""
    B, T = tokens.shape
    max_rows = max_rows or (1024 if tokens.device.type == "cpu" else 16384)
    last = score_fn(tokens).float().reshape(B, 1)
    if T == 1:
        return last
    per_sequence = num_rollouts * (T - 1)
    chunk = max(1, max_rows // per_sequence)
    parts = [
        _mc_rewards_chunk(policy, part, score_fn, num_rollouts, sampling, rng, max_rows) for part in tokens.split(chunk)
    ]
    return torch.cat([torch.cat(parts, 0), last], 1)


def _mc_rewards_chunk(
    policy: TextGenerator,
    tokens: torch.Tensor,
    score_fn: ScoreFn,
    n: int,
    sampling: SamplingConfig,
    rng: torch.Generator | None,
    max_rows: int,
) -> torch.Tensor:
    """Rewards [B, T - 1] for prefix lengths 1..T-1."""
    B, T = tokens.shape
    logits_all, states = policy.trajectory(tokens[:, : T - 1])  # rows t = 0..T-1
    char_states = policy.char_states(tokens)  # UTF-8 decoder state after each prefix (None: unconstrained)
    constraint = policy.char_constraint
    expand = torch.arange(B, device=tokens.device).repeat_interleave(n)  # rows ordered (b, rollout)
    eos = policy.eos_id
    # rows in flight (None before the first position), with their states, EOS flags, last tokens
    # and UTF-8 decoder states
    rows: torch.Tensor | None = None
    state: State | None = None
    finished: torch.Tensor | None = None
    last_token: torch.Tensor | None = None
    chars: torch.Tensor | None = None
    for j in range(1, T):
        # the N copies of each length-j prefix join; rows already in flight consume their token j-1
        new_rows = tokens[expand].clone()
        new_state = policy.select_state(policy.prefix_state(states, j), expand)
        new_finished = (new_rows[:, :j] == eos).any(1) if eos is not None else None
        new_chars = char_states[expand, j] if char_states is not None else None
        # draws: rows in flight first, then the newcomers (no [rows, V] concatenation)
        drawn = []
        if rows is not None:
            assert state is not None and last_token is not None
            logits, state = policy.advance(last_token, state)
            drawn.append(
                policy.continue_from(logits, state, 1, sampling=sampling, rng=rng, finished=finished, char_state=chars)[
                    0
                ]
            )
        drawn.append(
            policy.continue_from(
                logits_all[expand, j],
                new_state,
                1,
                sampling=sampling,
                rng=rng,
                finished=new_finished,
                char_state=new_chars,
            )[0]
        )
        if rows is None:
            rows, state, finished, chars = new_rows, new_state, new_finished, new_chars
        else:
            assert state is not None
            rows = torch.cat([rows, new_rows])
            state = policy.cat_states([state, new_state])
            if finished is not None and new_finished is not None:
                finished = torch.cat([finished, new_finished])
            if chars is not None and new_chars is not None:
                chars = torch.cat([chars, new_chars])
        last_token = torch.cat(drawn)[:, 0]
        rows[:, j] = last_token
        if finished is not None:
            finished = finished | (last_token == eos)
        if constraint is not None and chars is not None:
            chars = constraint.step(chars, last_token)
    assert rows is not None  # T >= 2
    # rows: group of prefix length t = 1..T-1, each B * n rows ordered (b, rollout)
    scores = score_in_chunks(score_fn, rows, max_rows).float()
    return scores.view(T - 1, B, n).mean(-1).transpose(0, 1)


@torch.no_grad()
def mc_rewards_loop(
    policy: TextGenerator,
    tokens: torch.Tensor,
    score_fn: ScoreFn,
    num_rollouts: int,
    *,
    sampling: SamplingConfig = DEFAULT_SAMPLING,
    rng: torch.Generator | None = None,
) -> torch.Tensor:
    """The per-rollout, per-prefix loop of the public implementations (same rewards in expectation)."""
    B, T = tokens.shape
    rewards = torch.zeros(B, T, device=tokens.device)
    char_states = policy.char_states(tokens)
    for _ in range(num_rollouts):
        for t in range(1, T):
            prefix = tokens[:, :t]
            logits, state = policy.prefix(prefix)
            finished = (prefix == policy.eos_id).any(1) if policy.eos_id is not None else None
            chars = char_states[:, t] if char_states is not None else None
            completion, _, _ = policy.continue_from(
                logits, state, T - t, sampling=sampling, rng=rng, finished=finished, char_state=chars
            )
            rewards[:, t - 1] += score_fn(torch.cat([prefix, completion], 1)).float()
        rewards[:, T - 1] += score_fn(tokens).float()
    return rewards / num_rollouts


def policy_gradient_loss(
    G: TextGenerator, tokens: torch.Tensor, rewards: torch.Tensor, *, baseline: bool = False
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """-sum_t log G(y_t | y_<t) * Q_t, averaged over the batch; padding after EOS excluded.

    With `baseline` the mean reward of each position over the batch is subtracted from Q_t (a
    variance reduction; the paper uses none).
    """
    rewards = rewards.detach().float()
    mask = G.token_mask(tokens)
    if baseline:
        mean = (rewards * mask).sum(0, keepdim=True) / mask.sum(0, keepdim=True).clamp(min=1)
        advantage = rewards - mean
    else:
        advantage = rewards
    log_probs = G.log_probs(tokens)
    loss = -(log_probs * advantage * mask).sum(1).mean()
    logs = {"reward": (rewards * mask).sum() / mask.sum().clamp(min=1)}
    return loss, logs


@torch.no_grad()
def lag_update(lagged: TextGenerator, G: TextGenerator, rate: float) -> None:
    """The original code's rollout network update: lagged <- rate * lagged + (1 - rate) * G.

    (LantaoYu/SeqGAN's rollout.py uses rate 0.8 and copies the embedding outright; here every
    parameter is blended the same way, which also suits models with tied embeddings.)
    """
    for p_lag, p in zip(lagged.parameters(), G.parameters()):
        p_lag.lerp_(p.detach(), 1.0 - rate)
