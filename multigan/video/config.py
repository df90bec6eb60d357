"""The video recipe's config: `data.*`, `model.*`, `loss.*` (the shared keys plus the video's own
loss weights) and the shared `train.*` keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from multigan.core.config import LossConfig, RunConfig, TrainConfig, check_positive
from multigan.core.errors import ConfigError
from multigan.io.video import DEFAULT_MAX_PIXELS
from multigan.video.data import GRAMMARS


@dataclass
class VideoDataConfig:
    path: str = ""  # "": moving digits (generated once into the cache); else a folder of videos
    val_path: str = ""  # held-out videos for samples and evaluate; "": the digits' test split / `path`
    size: int = 64  # frames are resized (aspect kept, centre cut) to size x size; a multiple of 8
    channels: int = 0  # 0: 1 for moving digits, 3 otherwise
    context: int = 10  # K frames the generator is given
    predict: int = 5  # P frames it learns to continue with (rollouts can be longer: eval_predict)
    eval_predict: int = 10  # frames it continues with in samples and the end-of-training evaluation
    frame_stride: int = 1  # take every n-th frame of the videos
    clip_step: int = 1  # a training clip starts every n frames
    verify: bool = True  # decode every file once while indexing (exact counts, bad files found early)
    max_pixels: int = DEFAULT_MAX_PIXELS  # larger frames are refused before decoding
    memory_mb: int = 512  # training videos kept decoded in memory (per loader process), so each decodes once; 0: none
    cache_dir: str = ""  # where moving digits are written; "": $MULTIGAN_CACHE or ~/.cache/multigan
    digits_train: int = 1000  # moving digits: training videos
    digits_test: int = 100  # moving digits: held-out videos (digits never seen in training)
    digits_frames: int = 20  # moving digits: frames per video
    grammar: str = ""  # moving digits with captions: "single" (Sync-DRAW's) or "two" digits (TGANs-C's); "": none

    def __post_init__(self) -> None:
        if self.size < 8 or self.size % 8:
            raise ConfigError(f"data.size: must be a positive multiple of 8, got {self.size}")
        if self.channels not in (0, 1, 3):
            raise ConfigError(f"data.channels: must be 0 (auto), 1 or 3, got {self.channels}")
        for key in ("context", "predict", "eval_predict", "frame_stride", "clip_step", "digits_train", "digits_test"):
            check_positive(f"data.{key}", getattr(self, key))
        if self.memory_mb < 0:
            raise ConfigError(f"data.memory_mb: must be 0 (off) or more, got {self.memory_mb}")
        if self.grammar not in GRAMMARS:
            raise ConfigError(f"data.grammar: must be one of {', '.join(map(repr, GRAMMARS))}, got {self.grammar!r}")
        if self.grammar and self.path:
            raise ConfigError('data.grammar: only for the moving digits (data.path=""); your videos bring captions.csv')
        longest = self.context + max(self.predict, self.eval_predict)
        if self.path == "" and longest > self.digits_frames:
            raise ConfigError(
                f"data.context + data.predict or data.eval_predict ({longest}) exceeds data.digits_frames "
                f"({self.digits_frames})"
            )


WARP_SOURCES = ("previous", "seed")
CORES = ("gru", "simvp")
FIRST_FRAME_KINDS = ("vae", "gan")
FIRST_FRAME_CAPTIONS = ("shared", "own")


@dataclass
class VideoModelConfig:
    core: str = "simvp"  # "simvp": a SimVP-style translator, several frames per pass; "gru": a ConvGRU, frame by frame
    g_width: int = 16  # G's full-resolution feature channels (x2 per level, up to x4)
    hidden: int = 128  # simvp: translator channels, at 1/4 resolution; gru: ConvGRU state channels, at 1/8
    blocks: int = 4  # simvp: translator blocks (gated spatial attention + MLP)
    pass_frames: int = 0  # simvp: frames per translator pass; 0: data.predict (fewer trains across a pass boundary)
    z_clip: int = 8  # noise channels per clip
    z_frame: int = 4  # noise channels per predicted frame
    warp: bool = True  # next frame = mask * warped previous frame + (1 - mask) * synthesised frame
    warp_from: str = "previous"  # "previous": warp the frame before; "seed": the last seed frame, by the composed flow
    motion_input: bool = True  # G's encoder also sees each frame's difference from the previous one
    coords: bool = False  # G's encoder also reads each pixel's x and y (CoordConv), so it knows where the walls are
    d_width: int = 16  # the 3D video D dominates the cost of a step on a CPU; 32 makes steps ~1.6x slower
    spectral_norm: bool = True  # on both discriminators
    image_d: bool = True  # image discriminator on single predicted frames
    video_d: bool = True  # 3D-conv discriminator on context + predicted frames
    image_d_frames: int = 2  # predicted frames per clip shown to the image discriminator
    keywords: bool = False  # condition G and D on each clip's caption; G can then also draw the first frame
    cond_dim: int = 64  # size of the caption vector
    cond_dropout: float = 0.1  # share of training clips whose caption is hidden, so one model serves both
    text_encoder: str = ""  # "": a word encoder trained with the GAN; else a local transformers model folder
    caption_bag: bool = True  # keywords, word encoder: add the mean of the word embeddings (unseen pairs compose)
    first_frame: str = "vae"  # keywords: "vae": G also redraws encoded real first frames; "gan": D's signal only
    first_frame_steps: int = 0  # keywords, first_frame=vae: steps training the first-frame VAE alone, before the GAN
    first_frame_noise: int = 4  # keywords: noise channels of the first frame (where its content stands, how drawn)
    first_frame_sprites: int = 0  # keywords: N > 0: N sprites, half the frame's side, placed on black; 0: whole
    first_frame_word_dropout: float = 0.0  # keywords: share of caption words the first frame's training hides
    first_frame_caption: str = "own"  # keywords: "own": the first frame reads captions through its own encoder

    def __post_init__(self) -> None:
        for key in ("cond_dropout", "first_frame_word_dropout"):
            if not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"model.{key}: must be in [0, 1), got {getattr(self, key)}")
        if self.text_encoder and not self.keywords:
            raise ConfigError("model.text_encoder: only with model.keywords=true")
        if self.text_encoder and not Path(self.text_encoder).is_dir():
            raise ConfigError(f"model.text_encoder: {self.text_encoder!r} is not a folder holding a transformers model")
        if self.first_frame not in FIRST_FRAME_KINDS:
            raise ConfigError(
                f"model.first_frame: must be one of {', '.join(map(repr, FIRST_FRAME_KINDS))}, got {self.first_frame!r}"
            )
        if self.first_frame_caption not in FIRST_FRAME_CAPTIONS:
            raise ConfigError(
                f"model.first_frame_caption: must be one of {', '.join(map(repr, FIRST_FRAME_CAPTIONS))}, "
                f"got {self.first_frame_caption!r}"
            )
        if self.core not in CORES:
            raise ConfigError(f"model.core: must be one of {', '.join(map(repr, CORES))}, got {self.core!r}")
        if self.warp_from not in WARP_SOURCES:
            raise ConfigError(
                f"model.warp_from: must be one of {', '.join(map(repr, WARP_SOURCES))}, got {self.warp_from!r}"
            )
        for key in ("g_width", "hidden", "blocks", "d_width", "image_d_frames", "cond_dim", "first_frame_noise"):
            check_positive(f"model.{key}", getattr(self, key))
        if self.first_frame_sprites and not self.keywords:
            raise ConfigError(
                "model.first_frame_sprites: only with model.keywords=true (the first frame is drawn then)"
            )
        if self.first_frame_sprites and self.first_frame_noise % self.first_frame_sprites:
            raise ConfigError(
                f"model.first_frame_noise: each of the {self.first_frame_sprites} sprites (model.first_frame_sprites) "
                f"takes an equal share of the noise, so it must be a multiple of {self.first_frame_sprites}, "
                f"got {self.first_frame_noise}"
            )
        if self.first_frame_steps and not (self.keywords and self.first_frame == "vae"):
            raise ConfigError(
                "model.first_frame_steps: only with model.keywords=true and model.first_frame=vae (else set it to 0)"
            )
        for key in ("z_clip", "z_frame", "pass_frames", "first_frame_steps", "first_frame_sprites"):
            check_positive(f"model.{key}", getattr(self, key), allow_zero=True)
        if self.pass_frames and self.core != "simvp":
            raise ConfigError("model.pass_frames: only with model.core=simvp (the GRU writes one frame per step)")
        if not (self.image_d or self.video_d):
            raise ConfigError("model.image_d, model.video_d: at least one discriminator is needed")


RECON_KINDS = ("l1", "mse", "l1+mse")


@dataclass
class VideoLossConfig(LossConfig):
    kind: str = "hinge"
    recon_weight: float = 100.0  # weight of the reconstruction of the predicted frames; 0: pure GAN
    recon: str = "l1+mse"  # the reconstruction term: "l1" (mean absolute error), "mse" (mean squared error), "l1+mse"
    adv_weight: float = 0.3  # weight of the adversarial terms; 0: reconstruction only (D is not trained)
    image_weight: float = 1.0  # image discriminator's share of the adversarial loss
    video_weight: float = 1.0  # video discriminator's share
    match_weight: float = 1.0  # keywords: matching-aware term (real clip + another clip's caption = fake); 0: off
    free_weight: float = 1.0  # keywords: weight of the clips G draws from the caption alone, first frame included
    feature_weight: float = 0.0  # L1 between D's layer activations for generated and real clips (pix2pixHD); 0: off
    kl_weight: float = 0.1  # keywords, first_frame=vae: weight of the first frame's KL (its redraw's: recon_weight)
    first_frame_adv: bool = False  # keywords, first_frame=vae: D's verdict on drawn clips also trains the first frame

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in (
            "recon_weight",
            "adv_weight",
            "image_weight",
            "video_weight",
            "match_weight",
            "free_weight",
            "feature_weight",
            "kl_weight",
        ):
            check_positive(f"loss.{key}", getattr(self, key), allow_zero=True)
        if self.recon not in RECON_KINDS:
            raise ConfigError(f"loss.recon: must be one of {', '.join(map(repr, RECON_KINDS))}, got {self.recon!r}")
        if self.recon_weight == 0 and self.adv_weight == 0:
            raise ConfigError("loss.recon_weight, loss.adv_weight: both are 0, nothing to train")


@dataclass
class VideoConfig(RunConfig):
    modality: ClassVar[str] = "video"
    keys_added_later: ClassVar[dict[str, str]] = {  # what runs saved before a key existed trained with
        "model.first_frame": "gan",  # keywords runs before 2026-12-07 (first-frame VAE)
        "model.first_frame_noise": "32",  # before 2026-12-07 evening (the noise channels were fixed)
        "model.caption_bag": "false",  # before 2026-12-07 23:40 UTC (the word encoder was the GRU alone)
        "model.first_frame_caption": "shared",  # before 2026-12-08 (one caption encoder in G)
    }
    out_dir: str = "runs/video"
    data: VideoDataConfig = field(default_factory=VideoDataConfig)
    model: VideoModelConfig = field(default_factory=VideoModelConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=1100,
            batch_size=8,
            lr_g=1e-3,
            lr_d=2e-4,
            ema_decay=0.99,
            log_every=10,
            sample_every=0,
            num_samples=8,
            checkpoint_every=250,
        )
    )
    loss: VideoLossConfig = field(default_factory=VideoLossConfig)

    def __post_init__(self) -> None:
        if self.model.keywords and self.data.path == "" and not self.data.grammar:
            raise ConfigError(
                "model.keywords: the moving digits need a caption grammar (data.grammar=single or two), "
                "or set data.path to videos with captions"
            )
        if self.model.first_frame_sprites and self.data.size % 16:
            raise ConfigError(
                f"model.first_frame_sprites: a sprite is half the frame's side, so data.size must be a multiple "
                f"of 16, got {self.data.size}"
            )
