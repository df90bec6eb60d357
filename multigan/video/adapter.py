"""The video adapter: what real, fake, sample and the two losses mean for frame-conditioned video.

A batch is a stack of clips (b, K + P, c, h, w): K context frames the generator sees and P frames
it must continue with. Real = the clip as recorded; fake = the same K context frames followed by
P generated ones. The image discriminator judges single predicted frames, the video
discriminator whole clips (context included). G's loss is the core's adversarial loss on both
heads plus a weighted L1 reconstruction of the P frames (`loss.recon_weight`; 0 gives a pure
GAN, `loss.adv_weight=0` an L1-only predictor and no D updates at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from einops import rearrange
from torch import nn

from multigan.core.adapter import LossOutput, Phase
from multigan.core.config import LossConfig, RunConfig, TrainConfig, check_positive
from multigan.core.errors import ConfigError
from multigan.core.losses import discriminator_objective, generator_loss
from multigan.io.video import DEFAULT_MAX_PIXELS, write_video
from multigan.video.data import MovingDigits, VideoClips, make_moving_digits
from multigan.video.models import DiscriminatorConfig, GeneratorConfig, VideoDiscriminator, VideoGenerator

VideoBatch = torch.Tensor  # (b, K + P, c, h, w) in [-1, 1]


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
    cache_dir: str = ""  # where moving digits are written; "": $MULTIGAN_CACHE or ~/.cache/multigan
    digits_train: int = 1000  # moving digits: training videos
    digits_test: int = 100  # moving digits: held-out videos (digits never seen in training)
    digits_frames: int = 20  # moving digits: frames per video

    def __post_init__(self) -> None:
        if self.size < 8 or self.size % 8:
            raise ConfigError(f"data.size: must be a positive multiple of 8, got {self.size}")
        if self.channels not in (0, 1, 3):
            raise ConfigError(f"data.channels: must be 0 (auto), 1 or 3, got {self.channels}")
        for key in ("context", "predict", "eval_predict", "frame_stride", "clip_step", "digits_train", "digits_test"):
            check_positive(f"data.{key}", getattr(self, key))
        longest = self.context + max(self.predict, self.eval_predict)
        if self.path == "" and longest > self.digits_frames:
            raise ConfigError(
                f"data.context + data.predict or data.eval_predict ({longest}) exceeds data.digits_frames "
                f"({self.digits_frames})"
            )


@dataclass
class VideoModelConfig:
    g_width: int = 16  # G's full-resolution feature channels (x2 per level, up to x4)
    hidden: int = 64  # ConvGRU state channels, at 1/8 resolution
    z_clip: int = 8  # noise channels per clip
    z_frame: int = 4  # noise channels per predicted frame
    warp: bool = True  # next frame = mask * warped previous frame + (1 - mask) * synthesised frame
    motion_input: bool = True  # G's encoder also sees each frame's difference from the previous one
    d_width: int = 16  # the 3D video D dominates the cost of a step on a CPU; 32 makes steps ~1.6x slower
    spectral_norm: bool = True  # on both discriminators
    image_d: bool = True  # image discriminator on single predicted frames
    video_d: bool = True  # 3D-conv discriminator on context + predicted frames
    image_d_frames: int = 2  # predicted frames per clip shown to the image discriminator

    def __post_init__(self) -> None:
        for key in ("g_width", "hidden", "d_width", "image_d_frames"):
            check_positive(f"model.{key}", getattr(self, key))
        for key in ("z_clip", "z_frame"):
            check_positive(f"model.{key}", getattr(self, key), allow_zero=True)
        if not (self.image_d or self.video_d):
            raise ConfigError("model.image_d, model.video_d: at least one discriminator is needed")


@dataclass
class VideoLossConfig(LossConfig):
    kind: str = "hinge"
    recon_weight: float = 100.0  # weight of the L1 reconstruction of the predicted frames; 0: pure GAN
    adv_weight: float = 1.0  # weight of the adversarial terms; 0: L1 only (D is not trained)
    image_weight: float = 1.0  # image discriminator's share of the adversarial loss
    video_weight: float = 1.0  # video discriminator's share

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("recon_weight", "adv_weight", "image_weight", "video_weight"):
            check_positive(f"loss.{key}", getattr(self, key), allow_zero=True)
        if self.recon_weight == 0 and self.adv_weight == 0:
            raise ConfigError("loss.recon_weight, loss.adv_weight: both are 0, nothing to train")


@dataclass
class VideoConfig(RunConfig):
    out_dir: str = "runs/video"
    data: VideoDataConfig = field(default_factory=VideoDataConfig)
    model: VideoModelConfig = field(default_factory=VideoModelConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=1000,
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


def to_unit(frames: torch.Tensor) -> torch.Tensor:
    """uint8 -> float in [-1, 1]."""
    return frames.float().div(127.5).sub(1.0)


def to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """[-1, 1] (t, c, h, w) -> uint8 (t, h, w, c) for writing."""
    return frames.detach().float().cpu().add(1).mul(127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1)


class VideoAdapter:
    """Data is found (and moving digits written) on first use, so generate never indexes a folder."""

    def __init__(self, cfg: VideoConfig) -> None:
        self.cfg = cfg
        self.channels = cfg.data.channels or (1 if cfg.data.path == "" else 3)
        self._roots: tuple[Path, Path | None] | None = None
        self._train: VideoClips | None = None
        self._heldout: dict[int, VideoClips] = {}

    def roots(self) -> tuple[Path, Path | None]:
        """(training folder, held-out folder or None), writing moving digits the first time."""
        if self._roots is None:
            d = self.cfg.data
            if d.path == "":
                digits = MovingDigits(
                    train_videos=d.digits_train,
                    test_videos=d.digits_test,
                    frames=d.digits_frames,
                    size=d.size,
                    digit_size=max(4, round(d.size * 3 / 8)),
                )
                root = make_moving_digits(digits, d.cache_dir or None)
                self._roots = (root / "train", root / "test")
            else:
                self._roots = (Path(d.path), Path(d.val_path) if d.val_path else None)
        return self._roots

    @property
    def clips(self) -> VideoClips:
        if self._train is None:
            d = self.cfg.data
            self._train = self._clips(self.roots()[0], d.context + d.predict, d.clip_step)
        return self._train

    def _clips(self, root: Path, length: int, step: int, quiet: bool = False) -> VideoClips:
        d = self.cfg.data
        return VideoClips(
            root,
            length,
            frame_stride=d.frame_stride,
            clip_step=step,
            size=(d.size, d.size),
            gray=self.channels == 1,
            verify=d.verify,
            max_pixels=d.max_pixels,
            quiet=quiet,
        )

    def heldout(self, predict: int | None = None, context: int | None = None) -> VideoClips:
        """Non-overlapping clips of context + predict frames from the held-out videos (or from the
        training videos when there is no held-out folder)."""
        length = (context or self.cfg.data.context) + (predict or self.cfg.data.predict)
        if length not in self._heldout:
            train_root, val_root = self.roots()
            self._heldout[length] = self._clips(val_root or train_root, length, length, quiet=val_root is None)
        return self._heldout[length]

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Undecodable files met so far, (path, reason), training and held-out data together."""
        seen = dict(self._train.skipped) if self._train is not None else {}
        for ds in self._heldout.values():
            seen.update(ds.skipped)
        return sorted(seen.items())

    # -- models and data
    def build_models(self) -> tuple[nn.Module, nn.Module]:
        m = self.cfg.model
        G = VideoGenerator(
            GeneratorConfig(self.channels, m.g_width, m.hidden, m.z_clip, m.z_frame, m.warp, m.motion_input)
        )
        D = VideoDiscriminator(DiscriminatorConfig(self.channels, m.d_width, m.spectral_norm, m.image_d, m.video_d))
        return G, D

    def dataset(self) -> VideoClips:
        return self.clips

    def collate(self, items: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(items)  # uint8 (b, t, c, h, w): a quarter of the bytes of floats

    def to_device(self, batch: torch.Tensor, device: torch.device) -> VideoBatch:
        return to_unit(batch.to(device, non_blocking=True))

    def phases(self, G: nn.Module, D: nn.Module) -> list[Phase]:
        adversarial = self.cfg.loss.adv_weight > 0
        return [
            Phase(
                "adversarial" if adversarial else "reconstruction",
                self.cfg.train.steps,
                d_loss=self.discriminator_loss if adversarial else None,
                g_loss=self.generator_loss,
                d_steps=self.cfg.train.n_critic,
            )
        ]

    # -- losses
    def _split(self, batch: VideoBatch) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.cfg.data.context
        return batch[:, :k], batch[:, k:]

    def _frames_for_image_d(self, b: int, device: torch.device) -> torch.Tensor:
        k, p = self.cfg.data.context, self.cfg.data.predict
        n = min(self.cfg.model.image_d_frames, p)
        return k + torch.rand(b, p, device=device).argsort(dim=1)[:, :n]  # n distinct predicted frames

    def _heads(self, D: nn.Module) -> list[tuple[str, float]]:
        lc, m = self.cfg.loss, self.cfg.model
        heads = [("image", lc.image_weight, m.image_d), ("video", lc.video_weight, m.video_d)]
        return [(name, weight) for name, weight, on in heads if on and weight > 0]

    def discriminator_loss(self, G: nn.Module, D: nn.Module, batch: VideoBatch, *, regularize: bool) -> LossOutput:
        context, future = self._split(batch)
        with torch.no_grad():
            fake = torch.cat([context, G(context, future.shape[1])], 1)
        frames = self._frames_for_image_d(batch.shape[0], batch.device)
        total, logs = 0.0, {}
        for name, weight in self._heads(D):
            out = discriminator_objective(
                self.cfg.loss,
                lambda clip, h=name: D(clip, frames, head=h),
                batch,
                fake,
                regularize=regularize,
                prefix=f"d_{name}",
            )
            total = total + weight * out.loss
            logs.update(out.logs)
        return LossOutput(total, logs)

    def generator_loss(self, G: nn.Module, D: nn.Module, batch: VideoBatch) -> LossOutput:
        lc = self.cfg.loss
        context, future = self._split(batch)
        pred = G(context, future.shape[1])
        l1 = (pred.float() - future.float()).abs().mean()
        loss = lc.recon_weight * l1
        logs: dict[str, Any] = {"g_l1": l1.detach()}
        if lc.adv_weight > 0:
            clip = torch.cat([context, pred], 1)
            frames = self._frames_for_image_d(batch.shape[0], batch.device)
            for name, weight in self._heads(D):
                adv = generator_loss(lc.kind, D(clip, frames, head=name))
                loss = loss + lc.adv_weight * weight * adv
                logs[f"g_{name}"] = adv.detach()
        return LossOutput(loss, logs)

    # -- sampling
    @torch.no_grad()
    def continue_clips(
        self, G: nn.Module, context: torch.Tensor, num_frames: int, *, seed: int, samples: int = 1
    ) -> torch.Tensor:
        """Continuations (samples, b, num_frames, c, h, w) in [-1, 1] of context (b, K, c, h, w)."""
        device = next(G.parameters()).device
        generator = torch.Generator(device).manual_seed(seed)
        context = context.to(device)
        return torch.stack([G(context, num_frames, generator=generator).float().cpu() for _ in range(samples)])

    def heldout_batch(self, n: int, context: int | None = None, predict: int | None = None) -> torch.Tensor:
        """The first n held-out clips (n, K + P, c, h, w) in [-1, 1] (fewer if there are fewer)."""
        ds = self.heldout(predict, context)
        return to_unit(torch.stack([ds[i] for i in range(min(n, len(ds)))]))

    @torch.no_grad()
    def sample(self, G: nn.Module, n: int, *, seed: int, condition: Any = None) -> dict[str, torch.Tensor]:
        """Continue `condition` (context frames (b, K, c, h, w) in [-1, 1]) or the first n held-out clips.

        Returns {"context", "generated"} and, for held-out clips, "truth" (the recorded frames).
        """
        k, p = self.cfg.data.context, self.cfg.data.eval_predict
        if condition is None:
            clips = self.heldout_batch(n, predict=p)
            context, truth = clips[:, :k], clips[:, k:]
        else:
            context, truth = condition, None
        generated = self.continue_clips(G, context, p, seed=seed)[0]
        out = {"context": context.cpu(), "generated": generated}
        if truth is not None:
            out["truth"] = truth
        return out

    def write_samples(self, samples: dict[str, torch.Tensor], out_dir: Path, step: int) -> None:
        """step_N/clip_XX.mp4 (context then generated frames) and step_N/side_by_side.mp4 and .gif
        (truth | generated, one row per clip, context frames shown on both sides)."""
        folder = out_dir / f"step_{step:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        context, generated = samples["context"], samples["generated"]
        for i in range(context.shape[0]):
            write_video(folder / f"clip_{i:02d}.mp4", to_uint8(torch.cat([context[i], generated[i]])))
        if "truth" in samples:
            grid = side_by_side(context, samples["truth"], generated)
            write_video(folder / "side_by_side.mp4", grid)
            write_video(folder / "side_by_side.gif", grid)


def side_by_side(context: torch.Tensor, truth: torch.Tensor, generated: torch.Tensor, gap: int = 2) -> torch.Tensor:
    """uint8 (t, H, W, c): each clip's row is (truth | generated), clips stacked top to bottom."""
    left = torch.cat([context, truth], 1)
    right = torch.cat([context, generated], 1)
    b, t, c, h, w = left.shape
    canvas = torch.ones(t, c, b * (h + gap) - gap, 2 * w + gap)  # white lines between tiles
    for i in range(b):
        top = i * (h + gap)
        canvas[:, :, top : top + h, :w] = left[i]
        canvas[:, :, top : top + h, w + gap :] = right[i]
    return to_uint8(canvas)


def frames_unit(video_frames: torch.Tensor) -> torch.Tensor:
    """uint8 (t, h, w, c) from multigan.io.video -> (t, c, h, w) in [-1, 1]."""
    return to_unit(rearrange(video_frames, "t h w c -> t c h w"))
