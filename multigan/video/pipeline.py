"""A trained video generator, as `multigan.load` returns it: continuing seed frames needs no dataset.

    model = multigan.load("runs/video")
    clips = model.generate(["f1.png", ..., "f10.png"], num_frames=10, samples=2)  # uint8 (2, 10, C, H, W)

    model = multigan.load("runs/video_keywords")                 # a model.keywords=true run
    clips = model.generate(keywords="3 up and down", num_frames=16)   # first frame included
    clips = model.generate("seed.mp4", keywords="3 up and down")      # continue a video with that motion

Seed frames may be image files, a video file (its last frames are used) or a uint8 array
(T, H, W, C); each is cut to a centred square and resized to the model's frame size. The CLI's
`generate` verb, the training-time samples and `evaluate` continue clips through the same code.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from multigan.core.conditioning import (
    VOCABULARY_FILE,
    CaptionTokens,
    CaptionVocabulary,
    PretrainedCaptionTokenizer,
)
from multigan.core.errors import ConfigError, MultiganError
from multigan.core.export import export_folder, load_folder_config, load_generator
from multigan.core.runtime import resolve_device
from multigan.io.image import fit_image, read_image
from multigan.io.video import probe, read_video
from multigan.video.config import VideoConfig
from multigan.video.models import VideoGenerator

SeedFrames = str | os.PathLike | Sequence[str | os.PathLike] | np.ndarray | torch.Tensor


def channels_of(cfg: VideoConfig) -> int:
    """The frames' channels: data.channels, or 1 for moving digits and 3 for a user's videos."""
    return cfg.data.channels or (1 if cfg.data.path == "" else 3)


CaptionTokenizer = CaptionVocabulary | PretrainedCaptionTokenizer


def build_generator(cfg: VideoConfig, tokenizer: CaptionTokenizer | None = None) -> VideoGenerator:
    vocab_size = tokenizer.size if isinstance(tokenizer, CaptionVocabulary) else 0
    d = cfg.data
    per_pass = cfg.model.pass_frames or d.predict
    return VideoGenerator(cfg.model, channels_of(cfg), vocab_size, d.size, d.context, per_pass)


def saved_tokenizer(cfg: VideoConfig, folder: Path) -> CaptionTokenizer | None:
    """A keywords run's caption tokenizer: its text encoder's, or the vocabulary saved in `folder`."""
    if not cfg.model.keywords:
        return None
    if cfg.model.text_encoder:
        return PretrainedCaptionTokenizer(cfg.model.text_encoder)
    if not (folder / VOCABULARY_FILE).is_file():
        raise MultiganError(f"{folder}: a keywords run needs its {VOCABULARY_FILE}, which is missing")
    return CaptionVocabulary.load(folder / VOCABULARY_FILE)


def to_unit(frames: torch.Tensor) -> torch.Tensor:
    """uint8 -> float in [-1, 1]."""
    return frames.float().div(127.5).sub(1.0)


def to_zero_one(frames: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> float in [0, 1] (clamped), the range metrics and likelihoods take."""
    return frames.float().add(1).div(2).clamp(0, 1)


def to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> uint8, same layout."""
    return frames.detach().float().cpu().add(1).mul(127.5).round().clamp(0, 255).byte()


class VideoPipeline:
    modality = "video"

    def __init__(
        self,
        cfg: VideoConfig,
        G: VideoGenerator,
        source: Path | None = None,
        tokenizer: CaptionTokenizer | None = None,
    ) -> None:
        self.cfg, self.G, self.source, self.tokenizer = cfg, G.eval(), source, tokenizer

    @classmethod
    def from_folder(cls, folder: str | Path, device: str = "cpu", checkpoint: str | None = None) -> VideoPipeline:
        """A run folder (its newest intact checkpoint's EMA generator, or the one named
        `checkpoint`: `best`, `mle`, `step_XXXXXXXX`) or an exported folder."""
        cfg = load_folder_config(folder, VideoConfig)
        tokenizer = saved_tokenizer(cfg, Path(folder))
        G = build_generator(cfg, tokenizer)
        load_generator(folder, G, checkpoint)
        return cls(cfg, G.to(resolve_device(device)), Path(folder), tokenizer)

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    @property
    def context(self) -> int:
        """Seed frames the model was trained to read (data.context)."""
        return self.cfg.data.context

    @property
    def keywords(self) -> bool:
        """Whether the model reads keywords (a model.keywords=true run)."""
        return self.tokenizer is not None

    def caption_tokens(self, keywords: str | Sequence[str]) -> CaptionTokens:
        """Keywords or captions (one string, or one per clip) as the model's tokens; unknown words
        are a one-line error naming them."""
        if self.tokenizer is None:
            raise ConfigError("--keywords: this model was trained without keywords (model.keywords=false)")
        texts = [keywords] if isinstance(keywords, str) else list(keywords)
        if isinstance(self.tokenizer, CaptionVocabulary):
            for text in texts:
                self.tokenizer.check(text)
        return self.tokenizer.encode(texts)

    @torch.no_grad()
    def continue_clips(
        self,
        context: torch.Tensor,
        num_frames: int,
        *,
        seed: int,
        samples: int = 1,
        caption: CaptionTokens | None = None,
    ) -> torch.Tensor:
        """Continuations (samples, b, num_frames, c, h, w) in [-1, 1] of context (b, K, c, h, w) in
        [-1, 1], following `caption` (one row per clip) when given."""
        generator = torch.Generator(self.device).manual_seed(seed)
        context = context.to(self.device)
        return torch.stack(
            [self.G(context, num_frames, caption=caption, generator=generator).float().cpu() for _ in range(samples)]
        )

    @torch.no_grad()
    def draw_clips(self, caption: CaptionTokens, num_frames: int, *, seed: int, samples: int = 1) -> torch.Tensor:
        """Whole clips (samples, b, num_frames, c, h, w) in [-1, 1] from captions alone, first frame included."""
        generator = torch.Generator(self.device).manual_seed(seed)
        caption = caption.to(self.device)
        return torch.stack(
            [self.G.from_caption(caption, num_frames, generator=generator).cpu() for _ in range(samples)]
        )

    def seed_context(self, seed_frames: SeedFrames) -> torch.Tensor:
        """The last K seed frames as (1, K, c, s, s) in [-1, 1] at the model's size."""
        k, size, channels = self.context, self.cfg.data.size, channels_of(self.cfg)
        if isinstance(seed_frames, np.ndarray | torch.Tensor):
            frames = torch.as_tensor(seed_frames)
            if frames.dtype != torch.uint8 or frames.dim() != 4 or frames.shape[-1] not in (1, 3):
                raise ConfigError("seed frames: an array must be uint8 (T, H, W, C) with C = 1 or 3")
            frames = torch.stack([fit_image(f.numpy(), size, channels) for f in frames])
        elif isinstance(seed_frames, str | os.PathLike):
            frames = self._video_frames(Path(seed_frames))
        else:
            frames = torch.stack([read_image(p, size, channels, what="seed frame") for p in seed_frames])
        if frames.shape[0] < k:
            raise MultiganError(f"the model needs {k} seed frames (data.context), got {frames.shape[0]}")
        return to_unit(frames[-k:].permute(0, 3, 1, 2))[None]

    def _video_frames(self, path: Path) -> torch.Tensor:
        d, k = self.cfg.data, self.context
        info = probe(path, max_pixels=d.max_pixels)
        need = (k - 1) * d.frame_stride + 1
        if info.frames < need:
            raise MultiganError(
                f"the model needs {k} seed frames (data.context) at stride {d.frame_stride}; {path} has "
                f"{info.frames} frames"
            )
        video = read_video(
            path,
            start=info.frames - need,
            stride=d.frame_stride,
            size=(d.size, d.size),
            gray=channels_of(self.cfg) == 1,
            max_pixels=d.max_pixels,
        )
        return video

    def generate(
        self,
        seed_frames: SeedFrames | None = None,
        num_frames: int = 10,
        samples: int = 1,
        seed: int = 0,
        keywords: str | None = None,
    ) -> torch.Tensor:
        """uint8 (samples, num_frames, C, H, W): continuations of the seed frames (following the
        keywords when given), or, with keywords and no seed frames, whole clips drawn from the
        keywords alone (the first frame is one of the num_frames)."""
        if num_frames < 1 or samples < 1:
            raise MultiganError("--num-frames and --samples must be at least 1")
        if seed_frames is None and keywords is None:
            raise MultiganError("give seed frames, keywords, or both")
        caption = self.caption_tokens(keywords) if keywords is not None else None
        if seed_frames is None:
            assert caption is not None
            return to_uint8(self.draw_clips(caption, num_frames, seed=seed, samples=samples)[:, 0])
        context = self.seed_context(seed_frames)
        return to_uint8(self.continue_clips(context, num_frames, seed=seed, samples=samples, caption=caption)[:, 0])

    def save_pretrained(self, directory: str | Path) -> Path:
        """A self-contained folder (config, weights, model card) that `multigan.load` reads."""
        if self.source is None:
            raise ConfigError("save_pretrained: this generator was not loaded from a folder")
        files = (
            {VOCABULARY_FILE: self.source / VOCABULARY_FILE} if isinstance(self.tokenizer, CaptionVocabulary) else {}
        )
        return export_folder(self.source, directory, self.cfg, self.G, files=files)
