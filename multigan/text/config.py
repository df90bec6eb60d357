"""The text recipe's config: `data.*`, `tokenizer.*`, `model.*`, `seqgan.*` (the SeqGAN schedule) and
the shared `train.*` and `loss.*` keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from multigan.core.config import LossConfig, RunConfig, TrainConfig, check_choice, check_positive
from multigan.core.errors import ConfigError
from multigan.text.generators import SAMPLERS
from multigan.text.models import PAPER_FILTER_SIZES, PAPER_NUM_FILTERS
from multigan.text.tokenizer import KINDS

ORACLE = "oracle"


@dataclass
class TextDataConfig:
    path: str = ""  # "": the Python reference (embedded); "oracle": the synthetic benchmark; a file or folder
    unit: str = "sentence"  # sentence | line: what one example is
    seq_len: int = 24  # tokens per row (the oracle benchmark: 20)
    heldout: float = 0.1  # fraction of the examples held out for evaluation
    max_examples: int = 0  # keep only the first N examples (quick runs); 0: all
    oracle_seed: int = 0  # the oracle LSTM and its training sequences
    oracle_vocab: int = 5000
    oracle_sequences: int = 10_000

    def __post_init__(self) -> None:
        check_choice("data.unit", self.unit, ("sentence", "line"))
        check_positive("data.seq_len", self.seq_len)
        if not 0 <= self.heldout < 1:
            raise ConfigError(f"data.heldout: must be in [0, 1), got {self.heldout}")
        check_positive("data.max_examples", self.max_examples, allow_zero=True)
        check_positive("data.oracle_vocab", self.oracle_vocab)
        check_positive("data.oracle_sequences", self.oracle_sequences)


@dataclass
class TokenizerConfig:
    kind: str = "bpe"  # bpe (byte-level) | char
    vocab_size: int = 1000

    def __post_init__(self) -> None:
        check_choice("tokenizer.kind", self.kind, KINDS)
        if self.vocab_size < 8:
            raise ConfigError(f"tokenizer.vocab_size: must be >= 8, got {self.vocab_size}")


@dataclass
class TextModelConfig:
    generator: str = "transformer"  # transformer (GPT-2 style, or model.pretrained) | lstm (the paper's)
    pretrained: str = ""  # a local transformers model directory (its own tokenizer is used)
    # lstm
    embed_dim: int = 32
    hidden_dim: int = 32
    init_std: float = 0.1
    # transformer built from a config
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    n_positions: int = 256
    dropout: float = 0.0
    # discriminator (the paper's CNN)
    d_embed_dim: int = 64
    d_filter_sizes: list[int] = field(default_factory=lambda: list(PAPER_FILTER_SIZES))
    d_num_filters: list[int] = field(default_factory=lambda: list(PAPER_NUM_FILTERS))
    d_dropout: float = 0.25
    d_l2: float = 0.2  # weight of the L2 term on D's output layer (the original code's 0.2); 0 disables

    def __post_init__(self) -> None:
        check_choice("model.generator", self.generator, ("transformer", "lstm"))
        if len(self.d_filter_sizes) != len(self.d_num_filters):
            raise ConfigError("model.d_filter_sizes and model.d_num_filters must have the same length")
        if self.pretrained and self.generator != "transformer":
            raise ConfigError("model.pretrained needs model.generator=transformer")


@dataclass
class SeqGANConfig:
    mle_epochs: int = 120
    d_pretrain_rounds: int = 50
    d_pretrain_epochs: int = 3
    g_steps: int = 1  # policy-gradient updates per adversarial step
    d_steps: int = 5  # per adversarial step ...
    d_epochs: int = 3  # ... times epochs of D updates each
    d_batches_per_epoch: int = 0  # 0: one pass over the real rows; >0 caps an "epoch" (quick runs)
    rollouts: int = 16
    rollout_policy: str = "lagged"  # lagged (the original code: 0.8 update) | G (the paper's text)
    lag_rate: float = 0.8
    baseline: bool = False  # subtract the mean reward of each position over the batch
    sampler: str = "icdf"  # icdf | gumbel | multinomial
    max_rollout_rows: int = 0  # rollout rows in flight at once; 0: 1,024 on a CPU, 16,384 on a GPU
    fresh_adv_optimizer: bool = True  # G's adversarial phase starts a new Adam state (the original code)
    adv_lr_g: float = 0.0  # G's learning rate in the adversarial phase; 0: train.lr_g
    eval_every: int = 0  # oracle runs: NLL-oracle every this many MLE epochs and adversarial steps (0: phase ends)
    eval_samples: int = 10_000  # samples per NLL-oracle during training

    def __post_init__(self) -> None:
        for key in ("mle_epochs", "d_pretrain_rounds", "d_pretrain_epochs", "g_steps", "d_steps", "d_epochs"):
            check_positive(f"seqgan.{key}", getattr(self, key), allow_zero=True)
        check_positive("seqgan.d_batches_per_epoch", self.d_batches_per_epoch, allow_zero=True)
        check_positive("seqgan.rollouts", self.rollouts)
        check_positive("seqgan.max_rollout_rows", self.max_rollout_rows, allow_zero=True)
        check_choice("seqgan.rollout_policy", self.rollout_policy, ("lagged", "G"))
        if not 0 <= self.lag_rate < 1:
            raise ConfigError(f"seqgan.lag_rate: must be in [0, 1), got {self.lag_rate}")
        check_choice("seqgan.sampler", self.sampler, SAMPLERS)
        check_positive("seqgan.adv_lr_g", self.adv_lr_g, allow_zero=True)
        check_positive("seqgan.eval_every", self.eval_every, allow_zero=True)
        check_positive("seqgan.eval_samples", self.eval_samples)
        if self.g_steps + self.d_steps == 0:
            raise ConfigError("seqgan.g_steps and seqgan.d_steps cannot both be 0")


@dataclass
class TextConfig(RunConfig):
    modality: ClassVar[str] = "text"
    out_dir: str = "runs/text"
    data: TextDataConfig = field(default_factory=TextDataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: TextModelConfig = field(default_factory=TextModelConfig)
    seqgan: SeqGANConfig = field(
        default_factory=lambda: SeqGANConfig(
            mle_epochs=6,
            d_pretrain_rounds=1,
            d_pretrain_epochs=1,
            d_steps=1,
            d_epochs=1,
            d_batches_per_epoch=8,
            rollouts=4,
        )
    )
    # train.steps: adversarial steps, as in every recipe (the MLE and D pre-training phases come first,
    # sized by seqgan.*); train.n_critic stays 1 (seqgan.d_steps and seqgan.d_epochs set D's share)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=6,
            batch_size=32,
            lr_g=1e-3,
            lr_d=1e-4,
            beta1=0.9,
            grad_clip=5.0,
            ema_decay=0.0,
            log_every=10,
            checkpoint_every=200,
            num_samples=16,
        )
    )
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        # keys every recipe has, where text cannot use every value: rejected when the config loads
        if self.train.n_critic != 1:
            raise ConfigError("train.n_critic: text sets D's share with seqgan.d_steps and seqgan.d_epochs; keep it 1")
        if self.loss.kind == "wgan-gp":
            raise ConfigError("loss.kind: tokens are discrete, so wgan-gp's gradient penalty does not apply to text")
        if self.loss.r1_gamma > 0:
            raise ConfigError("loss.r1_gamma: tokens are discrete, so R1 does not apply to text")
