"""The text networks. Here: the SeqGAN paper's CNN discriminator (Yu et al. 2017, appendix; Kim 2014
style). The generators (the paper's LSTM, any transformers causal LM) are in generators.py with the
sequence interface that sampling, rollouts and MLE share.

Tokens -> embedding (64) -> one convolution per filter size spanning the whole embedding -> ReLU ->
max over time -> concatenation -> a highway layer -> dropout (0.25) -> one logit ("real").

Filter sizes 1..10, 15, 20 with 100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160 filters
(for sequences of length 20). Sizes wider than the configured `max_len` are dropped. A sequence
shorter than the widest remaining filter is padded on the right with `pad_id`, so any length >= 1
works. `l2_penalty()` is the paper's optional L2 term on the output layer (the original code adds
0.2 times it to the loss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PAPER_FILTER_SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
PAPER_NUM_FILTERS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)


class Highway(nn.Module):
    """y = t * relu(W_h x) + (1 - t) * x with t = sigmoid(W_t x)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.transform = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.sigmoid(self.gate(x))
        return t * F.relu(self.transform(x)) + (1 - t) * x


class CNNDiscriminator(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        max_len: int,
        *,
        embed_dim: int = 64,
        filter_sizes: tuple[int, ...] = PAPER_FILTER_SIZES,
        num_filters: tuple[int, ...] = PAPER_NUM_FILTERS,
        dropout: float = 0.25,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        if len(filter_sizes) != len(num_filters):
            raise ValueError("filter_sizes and num_filters must have the same length")
        kept = [(k, n) for k, n in zip(filter_sizes, num_filters) if k <= max_len]
        if not kept:
            raise ValueError(f"no filter fits sequences of length {max_len}")
        self.filter_sizes = tuple(k for k, _ in kept)
        self.pad_id = pad_id
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, n, k) for k, n in kept)
        features = sum(n for _, n in kept)
        self.highway = Highway(features)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(features, 1)

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        width = max(self.filter_sizes)
        if tokens.shape[1] < width:
            tokens = F.pad(tokens, (0, width - tokens.shape[1]), value=self.pad_id)
        x = self.embed(tokens).transpose(1, 2)  # [B, E, L]
        pooled = [F.relu(conv(x)).amax(-1) for conv in self.convs]
        return self.highway(torch.cat(pooled, 1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [B] (raw, no sigmoid), as the core's losses expect."""
        return self.out(self.dropout(self.features(tokens))).squeeze(-1)

    def l2_penalty(self) -> torch.Tensor:
        """(|W|^2 + |b|^2) / 2 of the output layer, as tf.nn.l2_loss in the original code."""
        return 0.5 * (self.out.weight.pow(2).sum() + self.out.bias.pow(2).sum())
