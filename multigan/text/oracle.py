"""The synthetic benchmark of the SeqGAN paper (Yu et al. 2017, section "Synthetic Data Experiments").

An oracle LSTM with every weight drawn from N(0, 1) (vocabulary 5,000, embedding and hidden 32)
plays the real data distribution. It generates the 10,000 training sequences of length 20, and a
generator is judged by NLL-oracle: the oracle's mean negative log-likelihood per token of the
generator's samples (lower is better; the paper evaluates 100,000 samples).

Everything is a function of the seed: the same seed gives the same oracle and the same training
sequences, drawn on the CPU so that they do not depend on the device.
"""

from __future__ import annotations

import torch

from multigan.text.generators import DEFAULT_SAMPLING, LSTMGenerator, SamplingConfig

PAPER_VOCAB, PAPER_SEQ_LEN, PAPER_DIM, PAPER_NUM_SEQUENCES = 5000, 20, 32, 10_000


def build_oracle(seed: int, vocab_size: int = PAPER_VOCAB, embed_dim: int = PAPER_DIM, hidden_dim: int = PAPER_DIM):
    """The oracle LSTM for `seed` (CPU, eval mode, frozen). The global RNG is left untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        oracle = LSTMGenerator(vocab_size, embed_dim, hidden_dim, init_std=1.0)
    return oracle.eval().requires_grad_(False)


@torch.no_grad()
def oracle_sequences(
    oracle: LSTMGenerator, n: int = PAPER_NUM_SEQUENCES, seq_len: int = PAPER_SEQ_LEN, *, seed: int, batch: int = 2048
) -> torch.Tensor:
    """`n` sequences [n, seq_len] sampled from the oracle, deterministic in `seed` (on the CPU)."""
    rng = torch.Generator().manual_seed(seed)
    oracle = oracle.cpu()
    parts = [oracle.sample(min(batch, n - i), seq_len, rng=rng) for i in range(0, n, batch)]
    return torch.cat(parts)


@torch.no_grad()
def nll_oracle(oracle: LSTMGenerator, samples: torch.Tensor, *, batch: int = 2048) -> float:
    """Mean over samples and positions of -log p_oracle(y_t | y_<t)."""
    if samples.numel() == 0:
        raise ValueError("nll_oracle needs at least one sample")
    device = oracle.device
    total = 0.0
    for part in samples.split(batch):
        total += -oracle.log_probs(part.to(device)).double().sum().item()
    return total / samples.numel()


@torch.no_grad()
def oracle_entropy(oracle: LSTMGenerator, samples: torch.Tensor, *, batch: int = 2048) -> tuple[float, float]:
    """Along the given paths: the mean entropy per token of the oracle's next-token distribution, and
    the mean NLL of uniformly random tokens (the cross-entropy of uniform tokens against the oracle).

    On the oracle's own samples the first is an estimate of the oracle's entropy rate, the value the
    NLL-oracle of its own samples approaches.
    """
    device = oracle.device
    ent = uni = 0.0
    for part in samples.split(batch):
        log_p = torch.log_softmax(oracle(part.to(device)).double(), -1)
        ent += -(log_p.exp() * log_p).sum(-1).sum().item()
        uni += -log_p.mean(-1).sum().item()
    return ent / samples.numel(), uni / samples.numel()


@torch.no_grad()
def generator_samples(
    G, n: int, seq_len: int, *, seed: int, batch: int = 2048, sampling: SamplingConfig = DEFAULT_SAMPLING
) -> torch.Tensor:
    """`n` samples of `seq_len` tokens from any generator, in batches, deterministic in `seed`."""
    device = G.device
    rng = torch.Generator(device=device).manual_seed(seed)
    parts = [G.sample(min(batch, n - i), seq_len, rng=rng, sampling=sampling).cpu() for i in range(0, n, batch)]
    return torch.cat(parts)
