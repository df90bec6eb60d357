"""Sequence generators behind one interface: an LSTM (SeqGAN paper) and any `transformers` causal LM.

Every generator reads a sequence after a begin-of-sequence token (BOS) and exposes the same
operations, so that MLE, policy gradients, Monte Carlo rollouts and prompt continuation are written
once:

- `forward(tokens)` -> logits [B, L, V]: teacher forcing; `logits[:, t]` predicts `tokens[:, t]`
  from BOS and `tokens[:, :t]`.
- `begin(n)` / `advance(tokens, state)` -> (next-token logits [B, V], state): one step at a time.
- `trajectory(tokens)` -> (logits [B, L + 1, V], states): one run over BOS and `tokens`, where
  `logits[:, t]` and `prefix_state(states, t)` follow BOS and the first t tokens: a sequence is run
  once and any of its prefixes can be continued from.
- `select_state(state, index)` / `cat_states(states)`: reorder, repeat or join states along the
  batch, which is how one prefix state is expanded across N rollouts.

A state is a tuple of tensors. For the LSTM it is (h, c) with the batch on dim 1; for a
transformers model it is the KV cache as ((k, v) per layer) with the batch on dim 0, rebuilt into a
`DynamicCache` for each call. Models whose cache is not a plain per-layer key/value list (state
space models, sliding-window caches) are not supported by the prefix reuse.

Sampling draws from a `torch.Generator` so that a run is reproducible. The default sampler is the
inverse CDF (one uniform per row, a cumulative sum and a binary search): on [1,024, 5,000] logits
on a 2-core CPU it measured 9.4x faster than `torch.multinomial` and 2.9x faster than Gumbel-max
(scripts/bench_text_oracle.py, docs/BENCHMARKS.md). Gumbel-max and `torch.multinomial` are options.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch
import torch.nn.functional as F
from torch import nn

from multigan.core.errors import ConfigError
from multigan.text.utf8 import Utf8Constraint

if TYPE_CHECKING:
    from transformers import PreTrainedModel

State = tuple[torch.Tensor, ...]
SAMPLERS = ("icdf", "gumbel", "multinomial")


# --------------------------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class SamplingConfig:
    """How a token is drawn from next-token logits. temperature 0 means greedy (argmax)."""

    temperature: float = 1.0
    top_k: int = 0  # 0 = off
    top_p: float = 1.0  # 1 = off
    sampler: str = "icdf"

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ConfigError(f"temperature: must be >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise ConfigError(f"top_k: must be >= 0, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p: must be in (0, 1], got {self.top_p}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler: {self.sampler!r} is not one of {', '.join(SAMPLERS)}")


DEFAULT_SAMPLING = SamplingConfig()


def filter_logits(logits: torch.Tensor, cfg: SamplingConfig) -> torch.Tensor:
    """Temperature, then top-k, then top-p (nucleus); removed tokens get -inf. Float32 out."""
    logits = logits.float()
    if cfg.temperature not in (0.0, 1.0):
        logits = logits / cfg.temperature
    vocab = logits.shape[-1]
    if 0 < cfg.top_k < vocab:
        kth = torch.topk(logits, cfg.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if cfg.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        # drop a token when the tokens ranked above it already cover top_p; the best one always stays
        drop_sorted = (cum - sorted_logits.softmax(-1)) >= cfg.top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def draw(logits: torch.Tensor, cfg: SamplingConfig, rng: torch.Generator | None) -> torch.Tensor:
    """One token per row of `logits` [B, V] -> [B] (int64)."""
    if cfg.temperature == 0.0:
        return logits.argmax(-1)
    logits = filter_logits(logits, cfg)
    if cfg.sampler == "gumbel":
        u = torch.rand(logits.shape, generator=rng, device=logits.device).clamp_(min=1e-20)
        return (logits - torch.log(-torch.log(u))).argmax(-1)
    if cfg.sampler == "multinomial":
        return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=rng).squeeze(-1)
    u = torch.rand((logits.shape[0], 1), generator=rng, device=logits.device)
    # on a CPU, rows go through in blocks whose [rows, V] working set stays in cache: one big
    # [thousands, V] pass at a time was measured 2x slower than the same work in 64-row blocks
    block = CPU_BLOCK_ROWS if logits.device.type == "cpu" else logits.shape[0]
    return torch.cat([_icdf(part, v) for part, v in zip(logits.split(block), u.split(block))])


CPU_BLOCK_ROWS = 128


def _icdf(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw with the unnormalised CDF cumsum(exp(l - max)) and u scaled by its total."""
    cdf = (logits - logits.amax(-1, keepdim=True)).exp_().cumsum_(-1)
    # right=True: the first token whose cumulative mass exceeds u, so a zero-probability token is
    # never chosen (its cumulative mass equals its predecessor's)
    return torch.searchsorted(cdf, u * cdf[:, -1:], right=True).squeeze(-1).clamp_(max=logits.shape[-1] - 1)


# --------------------------------------------------------------------------------------------- interface


class TextGenerator(nn.Module):
    """Shared sequence operations; subclasses provide begin/advance/forward/trajectory and states."""

    vocab_size: int
    bos_id: int
    eos_id: int | None
    char_constraint: Utf8Constraint | None

    def __init__(self) -> None:
        super().__init__()
        self.char_constraint = None

    # -- to implement ------------------------------------------------------------------------------
    def begin(self, batch_size: int) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def advance(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def trajectory(self, tokens: torch.Tensor) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def prefix_state(self, states: State, t: int) -> State:
        raise NotImplementedError

    @staticmethod
    def select_state(state: State, index: torch.Tensor) -> State:
        raise NotImplementedError

    @staticmethod
    def cat_states(states: list[State]) -> State:
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def token_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """1.0 up to and including the first EOS, 0.0 after it (the padding); all ones without EOS."""
        if self.eos_id is None:
            return torch.ones_like(tokens, dtype=torch.float32)
        is_eos = (tokens == self.eos_id).long()
        after_eos = (is_eos.cumsum(1) - is_eos) > 0
        return (~after_eos).float()

    def log_probs(self, tokens: torch.Tensor) -> torch.Tensor:
        """log G(y_t | BOS, y_<t) for every position: [B, L]."""
        logits = self(tokens).float()
        return torch.log_softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)

    def nll(self, tokens: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per real token (padding after EOS excluded): a scalar."""
        mask = self.token_mask(tokens)
        return -(self.log_probs(tokens) * mask).sum() / mask.sum().clamp(min=1)

    def prefix(self, tokens: torch.Tensor) -> tuple[torch.Tensor, State]:
        """Run BOS + `tokens` [B, P] once: (logits for the next token [B, V], state)."""
        if tokens.shape[1] == 0:
            return self.begin(tokens.shape[0])
        logits_all, states = self.trajectory(tokens)
        return logits_all[:, -1], self.prefix_state(states, tokens.shape[1])

    def constrain_to(self, constraint: Utf8Constraint | None) -> None:
        """Sample only tokens that keep the text valid UTF-8 (multigan.text.utf8); None: any token."""
        self.char_constraint = constraint

    def char_states(self, tokens: torch.Tensor) -> torch.Tensor | None:
        """The UTF-8 decoder state after each prefix of `tokens` [B, L] -> [B, L + 1] (None: unconstrained)."""
        return None if self.char_constraint is None else self.char_constraint.states(tokens)

    @torch.no_grad()
    def continue_from(
        self,
        logits: torch.Tensor,
        state: State,
        steps: int,
        *,
        sampling: SamplingConfig = DEFAULT_SAMPLING,
        rng: torch.Generator | None = None,
        finished: torch.Tensor | None = None,
        char_state: torch.Tensor | None = None,
        min_tokens: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor, State]:
        """Sample `steps` tokens from (logits, state). Rows that have emitted EOS keep emitting EOS.

        With a UTF-8 constraint only tokens that can continue the current character are drawn;
        `char_state` [B] is the decoder state the rows are in (None: between characters). EOS is
        not drawn in the first `min_tokens` steps.

        Returns (tokens [B, steps], logits after the last token, state after the last token).
        """
        constraint = self.char_constraint
        if constraint is not None and char_state is None:
            char_state = constraint.start(logits.shape[0], logits.device)
        out = []
        for i in range(steps):
            if constraint is not None:
                assert char_state is not None
                logits = constraint.mask(logits, char_state)
            if i < min_tokens and self.eos_id is not None:
                logits = logits.index_fill(-1, torch.tensor([self.eos_id], device=logits.device), float("-inf"))
            token = draw(logits, sampling, rng)
            if self.eos_id is not None:
                if finished is None:
                    finished = torch.zeros_like(token, dtype=torch.bool)
                token = torch.where(finished, torch.full_like(token, self.eos_id), token)
                finished = finished | (token == self.eos_id)
            if constraint is not None:
                assert char_state is not None
                char_state = constraint.step(char_state, token)
            out.append(token)
            if i < steps - 1:
                logits, state = self.advance(token, state)
        return torch.stack(out, 1), logits, state

    @torch.no_grad()
    def sample(
        self,
        n: int,
        length: int,
        *,
        sampling: SamplingConfig = DEFAULT_SAMPLING,
        rng: torch.Generator | None = None,
        prompt: torch.Tensor | None = None,
        min_tokens: int = 0,
    ) -> torch.Tensor:
        """`n` sequences of `length` new tokens [n, length]. With a prompt [P] or [1, P] the prompt
        is run once and its state expanded across the n samples. A prompt ends between characters
        (it is whole text), so the new tokens start a character. EOS is not drawn before `min_tokens`."""
        if prompt is None:
            logits, state = self.begin(n)
        else:
            prompt = prompt.reshape(1, -1).to(self.device)
            logits, state = self.prefix(prompt)
            index = torch.zeros(n, dtype=torch.long, device=logits.device)
            logits, state = logits[index], self.select_state(state, index)
        tokens, _, _ = self.continue_from(logits, state, length, sampling=sampling, rng=rng, min_tokens=min_tokens)
        return tokens


# --------------------------------------------------------------------------------------------- LSTM


class LSTMGenerator(TextGenerator):
    """The SeqGAN paper's generator: embedding -> one LSTM layer -> linear to the vocabulary.

    Without a `bos_id` an extra embedding row (index `vocab_size`) is the BOS input, as for the
    synthetic oracle whose 5,000 tokens are all "words". Every weight is drawn from N(0, init_std)
    (0.1 in the paper's generator, 1.0 for its oracle); the LSTM's second bias is zero so the gate
    biases have that same spread.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 32,
        hidden_dim: int = 32,
        *,
        bos_id: int | None = None,
        eos_id: int | None = None,
        init_std: float = 0.1,
    ) -> None:
        super().__init__()
        self.vocab_size, self.eos_id = vocab_size, eos_id
        self.bos_id = vocab_size if bos_id is None else bos_id
        self.embed = nn.Embedding(vocab_size + (1 if bos_id is None else 0), embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, vocab_size)
        with torch.no_grad():
            for p in self.parameters():
                p.normal_(0.0, init_std)
            cast(torch.Tensor, self.lstm.bias_hh_l0).zero_()

    def _inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        bos = torch.full_like(tokens[:, :1], self.bos_id)
        return torch.cat([bos, tokens[:, :-1]], 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.lstm(self.embed(self._inputs(tokens)))
        return self.out(hidden)

    def advance(self, tokens: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        hidden, (h, c) = self.lstm(self.embed(tokens).unsqueeze(1), state)
        return self.out(hidden[:, 0]), (h, c)

    def begin(self, batch_size: int) -> tuple[torch.Tensor, State]:
        bos = torch.full((batch_size,), self.bos_id, dtype=torch.long, device=self.device)
        return self.advance(bos, None)

    def trajectory(self, tokens: torch.Tensor) -> tuple[torch.Tensor, State]:
        """Run BOS + tokens [B, L] step by step (nn.LSTM returns only the last cell state).

        Returns logits [B, L + 1, V] (row t: after BOS and t tokens) and the stacked states
        (h [L + 1, 1, B, H], c [L + 1, 1, B, H]).
        """
        bos = torch.full_like(tokens[:, :1], self.bos_id)
        inputs = self.embed(torch.cat([bos, tokens], 1))
        hs, cs, outs, state = [], [], [], None
        for t in range(inputs.shape[1]):
            hidden, state = self.lstm(inputs[:, t : t + 1], state)
            outs.append(hidden[:, 0])
            hs.append(state[0])
            cs.append(state[1])
        return self.out(torch.stack(outs, 1)), (torch.stack(hs), torch.stack(cs))

    def prefix_state(self, states: State, t: int) -> State:
        h, c = states
        return (h[t], c[t])

    def prefix(self, tokens: torch.Tensor) -> tuple[torch.Tensor, State]:
        """BOS + tokens in one nn.LSTM call (only the last state is needed here)."""
        bos = torch.full_like(tokens[:, :1], self.bos_id)
        hidden, state = self.lstm(self.embed(torch.cat([bos, tokens], 1)))
        return self.out(hidden[:, -1]), state

    @staticmethod
    def select_state(state: State, index: torch.Tensor) -> State:
        return tuple(s.index_select(1, index) for s in state)

    @staticmethod
    def cat_states(states: list[State]) -> State:
        return tuple(torch.cat(parts, 1) for parts in zip(*states))


# --------------------------------------------------------------------------------------------- transformers


@dataclass
class TransformerSize:
    """A small GPT-2-style model built from a config (no download)."""

    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    n_positions: int = 256
    dropout: float = 0.0


class HFGenerator(TextGenerator):
    """Any `transformers` causal LM. Prefix states are its KV cache, one (k, v) pair per layer."""

    def __init__(self, model: PreTrainedModel, *, bos_id: int, eos_id: int | None) -> None:
        super().__init__()
        self.model = model
        self.vocab_size = int(model.get_output_embeddings().weight.shape[0])
        self.bos_id, self.eos_id = bos_id, eos_id
        # transformers 5.x renames `past_key_values` to `cache` (the old name warns until 5.40)
        params = inspect.signature(model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"

    @classmethod
    def from_config(
        cls, vocab_size: int, size: TransformerSize, *, bos_id: int, eos_id: int | None, pad_id: int | None = None
    ) -> HFGenerator:
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(
            vocab_size=vocab_size,
            n_positions=size.n_positions,
            n_embd=size.n_embd,
            n_layer=size.n_layer,
            n_head=size.n_head,
            resid_pdrop=size.dropout,
            embd_pdrop=size.dropout,
            attn_pdrop=size.dropout,
            bos_token_id=bos_id,
            eos_token_id=eos_id,
            pad_token_id=pad_id,
        )
        return cls(GPT2LMHeadModel(config), bos_id=bos_id, eos_id=eos_id)

    @classmethod
    def from_pretrained(cls, path: str | Path, *, bos_id: int | None = None, eos_id: int | None = None) -> HFGenerator:
        """A local model directory; never downloads. BOS falls back to EOS (as for GPT-2)."""
        from transformers import AutoModelForCausalLM

        path = Path(path)
        if not path.is_dir():
            raise ConfigError(f"model.pretrained: {path} is not a directory")
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        cfg = model.config
        eos = eos_id if eos_id is not None else _first_id(cfg.eos_token_id)
        bos = bos_id if bos_id is not None else _first_id(cfg.bos_token_id)
        if bos is None:
            bos = eos
        if bos is None:
            raise ConfigError(f"model.pretrained: {path} defines neither a BOS nor an EOS token id")
        return cls(model, bos_id=bos, eos_id=eos)

    def _run(self, input_ids: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        from transformers import DynamicCache

        cache = (
            DynamicCache(config=self.model.config)
            if state is None
            else DynamicCache(ddp_cache_data=list(zip(state[0::2], state[1::2])), config=self.model.config)
        )
        out = self.model(input_ids=input_ids, use_cache=True, **{self._cache_kwarg: cache})
        new = out[self._cache_kwarg]
        flat = tuple(t for layer in new.layers for t in (layer.keys, layer.values))
        return out.logits, flat

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        bos = torch.full_like(tokens[:, :1], self.bos_id)
        return self.model(input_ids=torch.cat([bos, tokens[:, :-1]], 1), use_cache=False).logits

    def begin(self, batch_size: int) -> tuple[torch.Tensor, State]:
        bos = torch.full((batch_size, 1), self.bos_id, dtype=torch.long, device=self.device)
        logits, state = self._run(bos, None)
        return logits[:, -1], state

    def advance(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        logits, state = self._run(tokens.unsqueeze(1), state)
        return logits[:, -1], state

    def trajectory(self, tokens: torch.Tensor) -> tuple[torch.Tensor, State]:
        """One pass over BOS + tokens; the cache of the whole sequence holds every prefix's state
        (causal attention: keys and values at position t never depend on later tokens)."""
        bos = torch.full_like(tokens[:, :1], self.bos_id)
        return self._run(torch.cat([bos, tokens], 1), None)

    def prefix_state(self, states: State, t: int) -> State:
        return tuple(s[:, :, : t + 1] for s in states)

    @staticmethod
    def select_state(state: State, index: torch.Tensor) -> State:
        return tuple(s.index_select(0, index) for s in state)

    @staticmethod
    def cat_states(states: list[State]) -> State:
        return tuple(torch.cat(parts, 0) for parts in zip(*states))


def _first_id(value: int | list[int] | None) -> int | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def mle_loss(G: TextGenerator, tokens: torch.Tensor) -> torch.Tensor:
    """Teacher-forced cross-entropy per real token (padding after the first EOS excluded)."""
    logits = G(tokens).float()
    mask = G.token_mask(tokens)
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1), reduction="none")
    return (nll * mask.reshape(-1)).sum() / mask.sum().clamp(min=1)
