"""The text adapter: SeqGAN (Yu et al., AAAI 2017) as phases of the core trainer.

Phases, in order (each "epoch" is one pass over the real training rows, ceil(N / batch) updates):

1. `mle`: maximum-likelihood pre-training of G, `seqgan.mle_epochs` epochs.
2. `d_pretrain`: D against fresh samples of G, `seqgan.d_pretrain_rounds` x `seqgan.d_pretrain_epochs`
   epochs.
3. `adversarial`: `train.steps` steps; each is `seqgan.d_steps` x `seqgan.d_epochs` epochs of D
   updates, then `seqgan.g_steps` policy-gradient updates of G whose rewards are Monte Carlo
   rollouts scored by D (multigan.text.rollout), then the lagged rollout policy's update.

Where this differs from the original code (LantaoYu/SeqGAN): every D update draws its own fresh
batch of G's samples, where the original draws a set of 10,000 per round / d-step and reuses it
for its epochs (the number of real and generated sequences D sees is the same); the D/G order
within an adversarial step is D first (the core's cadence). As in the original, G's adversarial
updates start from a new Adam state (`seqgan.fresh_adv_optimizer`): carried over from MLE, Adam's
second moments are sized for MLE gradients, about 10x smaller than the policy gradient's (measured),
and the first adversarial steps become about 10x larger than the learning rate says.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from torch.utils.data import Dataset

from multigan.core.adapter import LossOutput, Networks, Phase
from multigan.core.errors import ConfigError
from multigan.core.losses import discriminator_loss
from multigan.text import data as textdata
from multigan.text.config import ORACLE, TextConfig
from multigan.text.generators import (
    HFGenerator,
    LSTMGenerator,
    SamplingConfig,
    TextGenerator,
    TransformerSize,
    mle_loss,
)
from multigan.text.models import CNNDiscriminator
from multigan.text.oracle import build_oracle, generator_samples, nll_oracle, oracle_sequences
from multigan.text.rollout import lag_update, mc_rewards, policy_gradient_loss
from multigan.text.tokenizer import TextTokenizer


class Rows(Dataset):
    def __init__(self, rows: torch.Tensor) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return self.rows.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.rows[i]


class LaggedPolicy(nn.Module):
    """The rollout network of the original code: a copy of G taken when adversarial training starts,
    then moved towards G by (1 - lag_rate) after every adversarial step. Checkpointed with the run."""

    started: torch.Tensor

    def __init__(self, G: TextGenerator) -> None:
        super().__init__()
        self.policy = copy.deepcopy(G).requires_grad_(False).eval()
        self.register_buffer("started", torch.zeros(1))

    @torch.no_grad()
    def follow(self, G: TextGenerator, rate: float) -> TextGenerator:
        if not bool(self.started.item()):
            for p_lag, p in zip(self.policy.parameters(), G.parameters()):
                p_lag.copy_(p.detach())
            self.started.fill_(1.0)
        else:
            lag_update(self.policy, G, rate)
        return self.policy


class TextAdapter:
    """`load_data=False` (generation from a finished run) reads only the run's tokenizer, no corpus."""

    def __init__(self, cfg: TextConfig, *, run_dir: Path | None = None, load_data: bool = True) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir or cfg.out_dir)
        d = cfg.data
        self.oracle: LSTMGenerator | None = None
        self.vocab_size: int
        self.bos_id: int | None
        self.eos_id: int | None
        self.pad_id: int
        self.tokenizer: TextTokenizer | None = None
        self.skipped: list[str] = []
        self.heldout_texts: list[str] = []
        self.rows = self.heldout_rows = torch.zeros(0, d.seq_len, dtype=torch.long)
        if d.path == ORACLE:
            if cfg.model.generator != "lstm":
                raise ConfigError("data.path=oracle needs model.generator=lstm")
            self.oracle = build_oracle(d.oracle_seed, d.oracle_vocab)
            if load_data:
                self.rows = oracle_sequences(self.oracle, d.oracle_sequences, d.seq_len, seed=d.oracle_seed + 1)
                n_test = max(1, round(d.oracle_sequences * d.heldout))
                self.heldout_rows = oracle_sequences(self.oracle, n_test, d.seq_len, seed=d.oracle_seed + 2)
            self.vocab_size, self.bos_id, self.eos_id, self.pad_id = d.oracle_vocab, None, None, 0
        elif load_data:
            self._load_text()
        else:
            saved = self._saved_tokenizer()
            assert saved is not None  # required: a missing tokenizer raised
            self._set_tokenizer(saved)
        self.batches_per_epoch = max(1, math.ceil(self.rows.shape[0] / cfg.train.batch_size))
        self.lagged: LaggedPolicy | None = None

    # -- data
    def _load_text(self) -> None:
        cfg, d = self.cfg, self.cfg.data
        if d.path:
            corpus = textdata.read_corpus(d.path)
            self.skipped = corpus.skipped
            examples = [e for text in corpus.texts for e in textdata.split_examples(text, d.unit)]
        else:
            examples = textdata.default_corpus()
        if d.max_examples:
            examples = examples[: d.max_examples]
        if len(examples) < 2:
            raise ConfigError(f"data.path: found {len(examples)} example(s); need at least 2")
        train, self.heldout_texts = textdata.heldout_split(examples, d.heldout, self.cfg.seed)
        tok = self._saved_tokenizer(required=False) or TextTokenizer.train(
            train, kind=cfg.tokenizer.kind, vocab_size=cfg.tokenizer.vocab_size
        )
        self._set_tokenizer(tok)
        self.rows = textdata.encode_rows(train, tok.encode, d.seq_len, tok.eos_id)
        if self.heldout_texts:
            self.heldout_rows = textdata.encode_rows(self.heldout_texts, tok.encode, d.seq_len, tok.eos_id)

    def _saved_tokenizer(self, required: bool = True) -> TextTokenizer | None:
        """A pretrained model's own tokenizer, or the run's (resuming, generating); else None."""
        if self.cfg.model.pretrained:
            return TextTokenizer.load(Path(self.cfg.model.pretrained))
        tok_dir = self.run_dir / "tokenizer"
        if tok_dir.is_dir() or required:
            return TextTokenizer.load(tok_dir)
        return None

    def _set_tokenizer(self, tok: TextTokenizer) -> None:
        self.tokenizer = tok
        self.vocab_size, self.bos_id, self.eos_id, self.pad_id = tok.vocab_size, tok.bos_id, tok.eos_id, tok.eos_id

    def save_tokenizer(self) -> None:
        if self.tokenizer is not None:
            self.tokenizer.save(self.run_dir / "tokenizer")

    # -- models and data
    def build_generator(self) -> TextGenerator:
        m = self.cfg.model
        if m.generator == "lstm":
            lstm = LSTMGenerator(
                self.vocab_size, m.embed_dim, m.hidden_dim, bos_id=self.bos_id, eos_id=self.eos_id, init_std=m.init_std
            )
            return self._constrained(lstm)
        if m.pretrained:
            G = HFGenerator.from_pretrained(m.pretrained, bos_id=self.bos_id, eos_id=self.eos_id)
        else:
            size = TransformerSize(m.n_layer, m.n_head, m.n_embd, m.n_positions, m.dropout)
            # no pad id in the config while training: rows are padded with EOS and masked in the losses
            assert self.bos_id is not None  # a tokenizer's (only the oracle has none, and it is an LSTM)
            G = HFGenerator.from_config(self.vocab_size, size, bos_id=self.bos_id, eos_id=self.eos_id)
        positions = getattr(G.model.config, "n_positions", None) or getattr(
            G.model.config, "max_position_embeddings", 0
        )
        if positions and positions < self.cfg.data.seq_len + 1:
            raise ConfigError(f"data.seq_len: {self.cfg.data.seq_len} + BOS exceeds the model's {positions} positions")
        return self._constrained(G)

    def _constrained(self, G: TextGenerator) -> TextGenerator:
        """With a byte-level tokenizer, G samples only tokens that keep the text valid UTF-8."""
        if self.tokenizer is not None:
            G.constrain_to(self.tokenizer.constraint(G.vocab_size))
        return G

    def build_models(self) -> Networks:
        m = self.cfg.model
        G = self.build_generator()
        D = CNNDiscriminator(
            max(self.vocab_size, G.vocab_size),
            self.cfg.data.seq_len,
            embed_dim=m.d_embed_dim,
            filter_sizes=tuple(m.d_filter_sizes),
            num_filters=tuple(m.d_num_filters),
            dropout=m.d_dropout,
            pad_id=self.pad_id,
        )
        # the lagged rollout policy is checkpointed with G and D
        self.lagged = LaggedPolicy(G) if self.cfg.seqgan.rollout_policy == "lagged" else None
        return Networks(G, D, extra={"rollout_policy": self.lagged} if self.lagged is not None else {})

    def dataset(self) -> Rows:
        return Rows(self.rows)

    def collate(self, items: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(items)

    def to_device(self, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
        return batch.to(device, non_blocking=True)

    def phases(self, G: nn.Module, D: nn.Module) -> list[Phase]:
        s, epoch = self.cfg.seqgan, self.batches_per_epoch
        d_epoch = min(epoch, s.d_batches_per_epoch) if s.d_batches_per_epoch else epoch
        phases = [
            Phase("mle", s.mle_epochs * epoch, g_loss=self.mle_loss, keep_as="mle"),
            Phase("d_pretrain", s.d_pretrain_rounds * s.d_pretrain_epochs * d_epoch, d_loss=self.discriminator_loss),
            Phase(
                "adversarial",
                self.cfg.train.steps,
                d_loss=self.discriminator_loss if s.d_steps * s.d_epochs else None,
                g_loss=self.generator_loss if s.g_steps else None,
                d_steps=max(1, s.d_steps * s.d_epochs * d_epoch),
                g_steps=max(1, s.g_steps),
                lr_g=s.adv_lr_g or None,
                fresh_optimizers=("G",) if s.fresh_adv_optimizer else (),
            ),
        ]
        if self.lagged is not None:
            lagged, policy_source = self.lagged, cast(TextGenerator, G)

            def follow_G(phase_step: int) -> None:  # the rollout policy moves towards G after each step
                lagged.follow(policy_source, s.lag_rate)

            phases[-1].on_step_end = follow_G
        return phases

    # -- losses
    def _fake(self, G: TextGenerator, n: int) -> torch.Tensor:
        """G's samples, drawn in eval mode (no dropout), G's mode restored."""
        sampling = SamplingConfig(sampler=self.cfg.seqgan.sampler)
        was_training = G.training
        G.eval()
        try:
            return G.sample(n, self.cfg.data.seq_len, sampling=sampling)
        finally:
            G.train(was_training)

    def mle_loss(self, G: TextGenerator, D: nn.Module, batch: torch.Tensor) -> LossOutput:
        loss = mle_loss(G, batch)
        return LossOutput(loss, {"mle_nll": loss.detach()})

    def discriminator_loss(
        self, G: TextGenerator, D: CNNDiscriminator, batch: torch.Tensor, *, regularize: bool
    ) -> LossOutput:
        fake = self._fake(G, batch.shape[0])
        real_logits, fake_logits = D(batch), D(fake)
        loss = discriminator_loss(self.cfg.loss.kind, real_logits, fake_logits)
        logs = {
            "d_loss": loss.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }
        if self.cfg.model.d_l2 > 0:
            loss = loss + self.cfg.model.d_l2 * D.l2_penalty()
        return LossOutput(loss, logs)

    def generator_loss(self, G: TextGenerator, D: nn.Module, batch: torch.Tensor) -> LossOutput:
        """SeqGAN's generator step: sample, reward every token by rollouts scored by D, policy gradient."""
        s = self.cfg.seqgan
        samples = self._fake(G, batch.shape[0])
        policy = G
        if self.lagged is not None:
            if not bool(self.lagged.started.item()):
                self.lagged.follow(G, s.lag_rate)  # first adversarial step: the copy starts as G
            policy = self.lagged.policy
        was_training = D.training, G.training
        D.eval()  # no dropout while rolling out and scoring (D: as the original code)
        G.eval()
        try:
            rewards = mc_rewards(
                policy,
                samples,
                lambda x: torch.sigmoid(D(x).float()),
                s.rollouts,
                sampling=SamplingConfig(sampler=s.sampler),
                max_rows=s.max_rollout_rows,
            )
        finally:
            D.train(was_training[0])
            G.train(was_training[1])
        loss, logs = policy_gradient_loss(G, samples, rewards, baseline=s.baseline)
        return LossOutput(loss, {"pg_loss": loss.detach(), **logs})

    # -- sampling
    @torch.no_grad()
    def sample(self, G: nn.Module, n: int, *, seed: int, condition: Any = None) -> torch.Tensor:
        """n rows of `data.seq_len` tokens; `condition` is an optional prompt (token ids)."""
        device = next(G.parameters()).device
        rng = torch.Generator(device).manual_seed(seed)
        prompt = None if condition is None else torch.as_tensor(condition, dtype=torch.long)
        sampling = SamplingConfig(sampler=self.cfg.seqgan.sampler)
        generator = cast(TextGenerator, G)
        return generator.sample(n, self.cfg.data.seq_len, rng=rng, sampling=sampling, prompt=prompt).cpu()

    def decode(self, rows: torch.Tensor) -> list[str]:
        if self.tokenizer is None:
            return [" ".join(str(t) for t in row.tolist()) for row in rows]
        return [self.tokenizer.decode(row.tolist()) for row in rows]

    def write_samples(self, samples: torch.Tensor, out_dir: Path, step: int) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"step_{step:08d}.txt").write_text("\n".join(self.decode(samples)) + "\n", encoding="utf-8")

    # -- the oracle benchmark
    @torch.no_grad()
    def nll_oracle(self, G: TextGenerator, n: int, *, seed: int = 0) -> float:
        if self.oracle is None:
            raise ConfigError("NLL-oracle needs an oracle run (data.path=oracle)")
        was_training = G.training
        G.eval()
        try:
            samples = generator_samples(G, n, self.cfg.data.seq_len, seed=seed)
        finally:
            G.train(was_training)
        return nll_oracle(self.oracle, samples)
