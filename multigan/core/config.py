"""Typed configs: dataclass defaults, then a YAML file, then `a.b=value` overrides.

OmegaConf structured configs do the merging and type checking; this module turns their errors into
one-line `ConfigError`s that name the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar, cast

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from multigan.core.errors import ConfigError

T = TypeVar("T")


def check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}")


def check_positive(key: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{key}: must be {'>= 0' if allow_zero else '> 0'}, got {value}")


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0
    n_critic: int = 1  # D updates per G update in adversarial phases
    lr_schedule: str = "constant"  # constant | linear | cosine (decay to 0 at the last step)
    warmup_steps: int = 0
    grad_clip: float = 0.0  # max global grad norm per network; 0 disables
    ema_decay: float = 0.999  # EMA of G used for sampling; 0 disables
    ema_start: int = 0  # before this step the EMA copies G
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | bf16 | fp16 | fp32
    num_workers: int = 0  # DataLoader worker processes
    log_every: int = 25
    sample_every: int = 0  # 0: samples only at the end
    num_samples: int = 64  # how many samples each sample point writes
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    max_nonfinite: int = 10  # consecutive non-finite losses before on_nonfinite acts
    on_nonfinite: str = "reload"  # reload the last checkpoint once, then stop | stop
    eval_every: int = 0  # steps between in-training evaluations (the modality's quick metric); 0 disables
    on_collapse: str = "warn"  # when an evaluation falls off a cliff: warn | stop | rollback (to checkpoints/best)
    channels_last: bool = False  # conv nets on CUDA
    sync_batchnorm: bool = False  # SyncBatchNorm across ranks (CUDA, under torchrun)
    compile: bool = False  # torch.compile G and D
    deterministic: bool = False  # torch.use_deterministic_algorithms

    def __post_init__(self) -> None:
        for key in ("steps", "batch_size", "n_critic", "log_every", "keep_checkpoints", "max_nonfinite", "num_samples"):
            check_positive(f"train.{key}", getattr(self, key))
        for key in ("lr_g", "lr_d", "weight_decay", "grad_clip", "ema_decay", "warmup_steps"):
            check_positive(f"train.{key}", getattr(self, key), allow_zero=True)
        check_positive("train.sample_every", self.sample_every, allow_zero=True)
        check_positive("train.checkpoint_every", self.checkpoint_every, allow_zero=True)
        check_positive("train.eval_every", self.eval_every, allow_zero=True)
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"train.ema_decay: must be in [0, 1), got {self.ema_decay}")
        check_choice("train.lr_schedule", self.lr_schedule, ("constant", "linear", "cosine"))
        check_choice("train.precision", self.precision, ("auto", "bf16", "fp16", "fp32"))
        check_choice("train.on_nonfinite", self.on_nonfinite, ("reload", "stop"))
        check_choice("train.on_collapse", self.on_collapse, ("warn", "stop", "rollback"))


LOSS_KINDS = ("nonsaturating", "hinge", "lsgan", "wgan-gp")


@dataclass
class LossConfig:
    kind: str = "nonsaturating"  # nonsaturating | hinge | lsgan | wgan-gp
    r1_gamma: float = 0.0  # R1 weight on real data; 0 disables
    r1_every: int = 16  # lazy regularization interval (D steps)
    gp_weight: float = 10.0  # gradient penalty weight for wgan-gp

    def __post_init__(self) -> None:
        check_choice("loss.kind", self.kind, LOSS_KINDS)
        check_positive("loss.r1_gamma", self.r1_gamma, allow_zero=True)
        check_positive("loss.r1_every", self.r1_every)
        check_positive("loss.gp_weight", self.gp_weight, allow_zero=True)


@dataclass
class RunConfig:
    """Keys every recipe has. Recipes subclass it, name their modality and add `data` and `model`."""

    modality: ClassVar[str] = ""  # "image", "video", "text": which package a run or export belongs to
    # Keys added after runs were saved, whose default is not what those runs were trained with:
    # key -> the value a saved config that lacks the key means.
    keys_added_later: ClassVar[dict[str, str]] = {}

    out_dir: str = "runs/run"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    train: TrainConfig = field(default_factory=TrainConfig)
    loss: LossConfig = field(default_factory=LossConfig)


def _describe(err: OmegaConfBaseException) -> str:
    key = getattr(err, "full_key", None)
    msg = str(getattr(err, "msg", None) or err).splitlines()[0]
    if "not in struct" in msg or "Key '" in msg and "not in" in msg:
        return f"unknown config key '{key}'" if key else msg
    if key:
        return f"{key}: {msg}"
    return msg


def load_config(cls: type[T], config_file: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Build `cls` from its defaults, a YAML file and `key=value` overrides, checking every key."""
    merged = OmegaConf.structured(cls)
    try:
        if config_file is not None:
            path = Path(config_file)
            if not path.is_file():
                raise ConfigError(f"config file not found: {path}")
            try:
                loaded = OmegaConf.load(path)
            except UnicodeDecodeError:
                raise ConfigError(f"{path}: not a YAML file (not UTF-8 text)") from None
            except yaml.YAMLError as err:
                where = getattr(err, "problem_mark", None)
                at = f" at line {where.line + 1}" if where is not None else ""
                problem = getattr(err, "problem", None) or "not YAML"
                raise ConfigError(f"{path}: invalid YAML{at}: {problem}") from None
            if loaded is not None and not OmegaConf.is_dict(loaded):
                raise ConfigError(f"{path}: a config file must hold a mapping of keys")
            merged = OmegaConf.merge(merged, loaded or {})
        for item in overrides or []:
            if "=" not in item or item.startswith("="):
                raise ConfigError(f"override {item!r} is not of the form key=value")
            merged = OmegaConf.merge(merged, OmegaConf.from_dotlist([item]))
        return cast(T, OmegaConf.to_object(merged))
    except OmegaConfBaseException as err:
        raise ConfigError(_describe(err)) from None
    except ValueError as err:
        raise ConfigError(str(err).splitlines()[0]) from None


def to_yaml(cfg: object) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def save_config(cfg: object, path: Path) -> None:
    path.write_text(to_yaml(cfg))
