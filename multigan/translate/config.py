"""The translate recipe's config: the top-level `mode`, `data.*`, `model.*`, `loss.*` and the shared `train.*`.

mode=unpaired   CycleGAN: both directions, cycle + identity losses; loss.nce_weight > 0 with
                loss.cycle_weight=0 is CUT (one-sided, PatchNCE), a2b only
mode=paired     pix2pix: L1 to the paired truth + the adversarial loss, both directions
mode=reference  reference-guided style: a style encoder reads a reference image of the target
                domain (StarGAN v2 / MUNIT lineage)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from multigan.core.config import LossConfig, RunConfig, TrainConfig, check_choice, check_positive
from multigan.core.errors import ConfigError

MODES = ("unpaired", "paired", "reference")
NORMS = ("instance", "batch", "none")


@dataclass
class TranslateDataConfig:
    # "" and no path_a/path_b: the embedded digits -> digits-M. A folder holding A/ and B/ with the
    # same file names: paired data.
    path: str = ""
    path_a: str = ""  # unpaired: a folder of domain-A images (path_b too)
    path_b: str = ""
    size: int = 32  # training images are cut to a centred square and resized to size x size
    heldout: float = 0.1  # user folders: the fraction of each domain kept for samples and evaluate
    flip: bool = False  # random horizontal flips (off: flips mirror digits and text)

    def __post_init__(self) -> None:
        if self.size < 16 or self.size % 4:
            raise ConfigError(f"data.size: must be a multiple of 4 and at least 16, got {self.size}")
        if not 0 < self.heldout < 1:
            raise ConfigError(f"data.heldout: must be between 0 and 1, got {self.heldout}")
        if self.path and (self.path_a or self.path_b):
            raise ConfigError("data.path (a paired folder with A/ and B/) and data.path_a/path_b exclude each other")
        if bool(self.path_a) != bool(self.path_b):
            raise ConfigError("data.path_a and data.path_b: give both domains' folders")

    @property
    def embedded(self) -> bool:
        return not (self.path or self.path_a)


@dataclass
class TranslateModelConfig:
    width: int = 16  # G's first conv; doubles at each of the two downsamplings
    blocks: int = 4  # residual blocks at 1/4 resolution, each FiLM-conditioned on the target code
    code_dim: int = 32  # the target code: a learned domain code, or a style code read from a reference
    d_width: int = 32  # PatchGAN D's first conv
    d_layers: int = 2  # stride-2 convs in D: its patch is 16 px wide at 2, 34 px at 3
    norm: str = "instance"  # in G and the style encoder
    spectral_norm: bool = True  # on D

    def __post_init__(self) -> None:
        for key in ("width", "blocks", "code_dim", "d_width", "d_layers"):
            check_positive(f"model.{key}", getattr(self, key))
        check_choice("model.norm", self.norm, NORMS)


@dataclass
class TranslateLossConfig(LossConfig):
    kind: str = "lsgan"  # CycleGAN's and pix2pix's choice
    l1_weight: float = 100.0  # paired: L1 to the truth (pix2pix's lambda)
    cycle_weight: float = 10.0  # unpaired and reference: a -> b -> a and b -> a -> b
    identity_weight: float = 5.0  # G(x, x's own code) = x: also the blend strip's alpha=0 end
    # CUT's PatchNCE between a source and its translation: keeps the content (one-sided CUT when cycle is 0)
    nce_weight: float = 1.0
    nce_temperature: float = 0.07
    nce_patches: int = 64  # locations sampled per feature layer
    style_weight: float = 1.0  # reference: the style code read back from the output matches the reference's

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("l1_weight", "cycle_weight", "identity_weight", "nce_weight", "style_weight"):
            check_positive(f"loss.{key}", getattr(self, key), allow_zero=True)
        check_positive("loss.nce_temperature", self.nce_temperature)
        check_positive("loss.nce_patches", self.nce_patches)


@dataclass
class TranslateConfig(RunConfig):
    modality: ClassVar[str] = "translate"
    mode: str = "unpaired"  # unpaired | paired | reference
    out_dir: str = "runs/translate"
    data: TranslateDataConfig = field(default_factory=TranslateDataConfig)
    model: TranslateModelConfig = field(default_factory=TranslateModelConfig)
    train: TrainConfig = field(
        # Sized for about 10 minutes on an idle 2-core CPU, evaluation included (docs/TRANSLATE.md).
        default_factory=lambda: TrainConfig(
            steps=1500, batch_size=8, ema_decay=0.99, sample_every=500, checkpoint_every=500, num_samples=8
        )
    )
    loss: TranslateLossConfig = field(default_factory=TranslateLossConfig)

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, MODES)
        if self.mode == "paired" and not self.data.embedded and not self.data.path:
            raise ConfigError("mode=paired: data.path must be a folder holding A/ and B/ with the same file names")
        if self.one_sided and self.mode != "unpaired":
            raise ConfigError("loss.cycle_weight=0 with loss.nce_weight>0 (CUT) is a mode=unpaired setting")

    @property
    def one_sided(self) -> bool:
        """CUT: a2b only, PatchNCE in place of the cycle."""
        return self.nce_weight_on and self.loss.cycle_weight == 0

    @property
    def nce_weight_on(self) -> bool:
        return self.loss.nce_weight > 0
