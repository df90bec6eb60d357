"""The video adapter: what real, fake, sample and the two losses mean for frame-conditioned video.

A batch is a stack of clips (b, K + P, c, h, w): K context frames the generator sees and P frames
it must continue with. Real = the clip as recorded; fake = the same K context frames followed by
P generated ones. The image discriminator judges single predicted frames, the video
discriminator whole clips (context included). G's loss is the core's adversarial loss on both
heads plus a weighted L1 reconstruction of the P frames (`loss.recon_weight`; 0 gives a pure
GAN, `loss.adv_weight=0` an L1-only predictor and no D updates at all).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from multigan.core.adapter import LossOutput, Networks, Phase
from multigan.core.losses import discriminator_objective, generator_loss
from multigan.io.video import write_video
from multigan.video.config import VideoConfig
from multigan.video.data import MovingDigits, VideoClips, make_moving_digits
from multigan.video.models import VideoDiscriminator, VideoGenerator
from multigan.video.pipeline import VideoPipeline, build_generator, channels_of, to_uint8, to_unit

VideoBatch = torch.Tensor  # (b, K + P, c, h, w) in [-1, 1]


def to_frames(frames: torch.Tensor) -> torch.Tensor:
    """[-1, 1] (t, c, h, w) -> uint8 (t, h, w, c), as multigan.io.video writes them."""
    return to_uint8(frames).permute(0, 2, 3, 1)


class VideoAdapter:
    """Data is found (and moving digits written) on first use, so generate never indexes a folder."""

    def __init__(self, cfg: VideoConfig) -> None:
        self.cfg = cfg
        self.channels = channels_of(cfg)
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
    def build_models(self) -> Networks:
        m = self.cfg.model
        G = build_generator(self.cfg)
        D = VideoDiscriminator(m, self.channels)
        return Networks(G, D)

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
        total: torch.Tensor | float = 0.0
        logs: dict[str, torch.Tensor | float] = {}
        for name, weight in self._heads(D):
            out = discriminator_objective(
                self.cfg.loss, _head(D, frames, name), batch, fake, regularize=regularize, prefix=f"d_{name}"
            )
            total = total + weight * out.loss
            logs.update(out.logs)
        assert isinstance(total, torch.Tensor)  # at least one head (VideoModelConfig checks)
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
        generated = VideoPipeline(self.cfg, cast(VideoGenerator, G)).continue_clips(context, p, seed=seed)[0]
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
            write_video(folder / f"clip_{i:02d}.mp4", to_frames(torch.cat([context[i], generated[i]])))
        if "truth" in samples:
            grid = side_by_side(context, samples["truth"], generated)
            write_video(folder / "side_by_side.mp4", grid)
            write_video(folder / "side_by_side.gif", grid)


def _head(D: nn.Module, frames: torch.Tensor, name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """D's score of a clip by one head ("image" or "video")."""
    return lambda clip: D(clip, frames, head=name)


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
    return to_frames(canvas)
