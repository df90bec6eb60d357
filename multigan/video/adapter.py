"""The video adapter: what real, fake, sample and the two losses mean for frame-conditioned video.

A batch is a stack of clips (b, K + P, c, h, w): K context frames the generator sees and P frames
it must continue with. Real = the clip as recorded; fake = the same K context frames followed by
P generated ones. The image discriminator judges single predicted frames, the video
discriminator whole clips (context included). G's loss is the core's adversarial loss on both
heads plus a weighted reconstruction of the P frames (`loss.recon`: L1, MSE or their sum; `loss.recon_weight`
0 gives a pure GAN, `loss.adv_weight=0` a reconstruction-only predictor and no D updates at all).

Keywords (`model.keywords=true`): each clip carries its caption (captions.csv or a .txt beside
the video; the moving digits' grammar writes one). G and D read it; a share of the captions
(`model.cond_dropout`) is hidden in every batch so the model also works without. Two more terms:
clips G draws from the caption alone, first frame included, are fakes too (`loss.free_weight`),
and a real clip shown with another clip's caption counts as fake for D (the matching-aware loss,
`loss.match_weight`). With `model.first_frame="vae"` G also redraws each real first frame from its
encoding and caption (a binary cross-entropy weighted by `loss.recon_weight`, and `loss.kl_weight`
times the KL divergence from the prior the drawn clips sample); `model.first_frame_steps` trains
that VAE alone first, a phase of cheap steps. D's verdict on drawn clips then trains only their
continuation, not the VAE's first frame (`loss.first_frame_adv=true` lets it reach that too).

Feature matching (`loss.feature_weight`): G also pays the L1 distance between D's activations, layer
by layer, for its clip and for the real clip with the same context (pix2pixHD's term; a distance in
the discriminator's intermediate layers rather than in pixels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from multigan.core.adapter import LossOutput, Networks, Phase
from multigan.core.conditioning import (
    VOCABULARY_FILE,
    CaptionTokens,
    CaptionVocabulary,
    drop_condition,
    drop_words,
    mismatched,
)
from multigan.core.errors import MultiganError, warn
from multigan.core.losses import discriminator_objective, fake_loss, generator_loss
from multigan.io.video import write_video
from multigan.video.captions import read_captions
from multigan.video.config import VideoConfig
from multigan.video.data import CaptionedClips, MovingDigits, VideoClips, make_moving_digits
from multigan.video.models import VideoDiscriminator, VideoGenerator
from multigan.video.pipeline import (
    CaptionTokenizer,
    VideoPipeline,
    build_generator,
    channels_of,
    saved_tokenizer,
    to_uint8,
    to_unit,
    to_zero_one,
)


@dataclass
class VideoBatch:
    """Clips (b, K + P, c, h, w), uint8 on the CPU and [-1, 1] on the device, and (keywords runs)
    their captions."""

    frames: torch.Tensor
    caption: CaptionTokens | None = None

    def pin_memory(self) -> VideoBatch:
        return VideoBatch(self.frames.pin_memory(), None if self.caption is None else self.caption.pin_memory())


@dataclass
class Fakes:
    """What G makes of a batch: continuations of its context frames, the captions they follow
    (condition dropout applied; None without keywords), and (keywords runs) clips drawn from the
    captions alone with their captions."""

    batch: VideoBatch
    caption: CaptionTokens | None
    continued: torch.Tensor
    drawn: tuple[torch.Tensor, CaptionTokens] | None


def to_frames(frames: torch.Tensor) -> torch.Tensor:
    """[-1, 1] (t, c, h, w) -> uint8 (t, h, w, c), as multigan.io.video writes them."""
    return to_uint8(frames).permute(0, 2, 3, 1)


class VideoAdapter:
    """Data is found (and moving digits written) on first use, so generate never indexes a folder."""

    def __init__(self, cfg: VideoConfig, run_dir: Path | None = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir or cfg.out_dir)
        self.channels = channels_of(cfg)
        self.keywords = cfg.model.keywords
        self._roots: tuple[Path, Path | None] | None = None
        self._train: VideoClips | None = None
        self._heldout: dict[int, VideoClips] = {}
        self._captions: dict[Path, dict[str, str]] = {}
        self._tokenizer: CaptionTokenizer | None = None
        # One forward pass of G per step (pix2pix's order): D's update keeps the fakes it made, with
        # their graph, and G's update of the same batch backpropagates through them. With several D
        # updates per G update each would build a graph only the last one needs, so then G makes its
        # fakes again.
        self.reuses_fakes = cfg.train.n_critic == 1
        self._kept: Fakes | None = None

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
                    digits_per_clip=2 if d.grammar != "single" else 1,
                    grammar=d.grammar,
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
            self._train = self._clips(self.roots()[0], d.context + d.predict, d.clip_step, memory_mb=d.memory_mb)
        return self._train

    def _clips(self, root: Path, length: int, step: int, quiet: bool = False, memory_mb: int = 0) -> VideoClips:
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
            memory_mb=memory_mb,
        )

    def heldout(self, predict: int | None = None, context: int | None = None) -> VideoClips:
        """Non-overlapping clips of context + predict frames from the held-out videos (or from the
        training videos when there is no held-out folder)."""
        length = (context or self.cfg.data.context) + (predict or self.cfg.data.predict)
        if length not in self._heldout:
            train_root, val_root = self.roots()
            self._heldout[length] = self._clips(val_root or train_root, length, length, quiet=val_root is None)
        return self._heldout[length]

    # -- captions
    def captions(self, clips: VideoClips) -> dict[str, str]:
        """{video file: caption} for a dataset's videos, read once; what is off is warned about once."""
        if clips.root not in self._captions:
            found = read_captions(clips.root, [Path(f) for f in clips.files])
            for line in found.warnings(clips.root):
                warn(line)
            self._captions[clips.root] = found.by_file
        return self._captions[clips.root]

    @property
    def tokenizer(self) -> CaptionTokenizer:
        """The caption tokenizer: the run's saved vocabulary (resuming), a transformers model's own,
        or a new vocabulary fitted to the training captions."""
        if self._tokenizer is None:
            if self.cfg.model.text_encoder or (self.run_dir / VOCABULARY_FILE).is_file():
                self._tokenizer = saved_tokenizer(self.cfg, self.run_dir)
            else:
                captions = sorted(set(self.captions(self.clips).values()))
                if not captions:
                    raise MultiganError(
                        f"model.keywords: no video under {str(self.clips.root)!r} has a caption "
                        "(captions.csv with columns file,caption, or a .txt beside each video)"
                    )
                self._tokenizer = CaptionVocabulary.fit(captions)
            assert self._tokenizer is not None
        return self._tokenizer

    def save_vocabulary(self) -> None:
        """Write the run's vocabulary (before training: a resumed run encodes captions the same way)."""
        if self.keywords and isinstance(self.tokenizer, CaptionVocabulary):
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.tokenizer.save(self.run_dir / VOCABULARY_FILE)

    def encode(self, captions: list[str | None]) -> CaptionTokens:
        return self.tokenizer.encode(captions)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """Undecodable files met so far, (path, reason), training and held-out data together."""
        seen = dict(self._train.skipped) if self._train is not None else {}
        for ds in self._heldout.values():
            seen.update(ds.skipped)
        return sorted(seen.items())

    # -- models and data
    def build_models(self) -> Networks:
        tokenizer = self.tokenizer if self.keywords else None
        G = build_generator(self.cfg, tokenizer)
        vocab_size = tokenizer.size if isinstance(tokenizer, CaptionVocabulary) else 0
        D = VideoDiscriminator(self.cfg.model, self.channels, vocab_size)
        return Networks(G, D)

    def dataset(self) -> VideoClips | CaptionedClips:
        return CaptionedClips(self.clips, self.captions(self.clips)) if self.keywords else self.clips

    def collate(self, items: list[Any]) -> VideoBatch:
        """uint8 frames (b, t, c, h, w), a quarter of the bytes of floats, and the captions' tokens."""
        if not self.keywords:
            return VideoBatch(torch.stack(items))
        return VideoBatch(torch.stack([frames for frames, _ in items]), self.encode([c for _, c in items]))

    def to_device(self, batch: VideoBatch, device: torch.device) -> VideoBatch:
        caption = None if batch.caption is None else batch.caption.to(device, non_blocking=True)
        return VideoBatch(to_unit(batch.frames.to(device, non_blocking=True)), caption)

    def phases(self, G: nn.Module, D: nn.Module) -> list[Phase]:
        adversarial = self.cfg.loss.adv_weight > 0
        first = self.cfg.model.first_frame_steps
        pretrain = [Phase("first_frame", first, g_loss=self.first_frame_loss)] if first else []
        return pretrain + [
            Phase(
                "adversarial" if adversarial else "reconstruction",
                self.cfg.train.steps,
                d_loss=self.discriminator_loss if adversarial else None,
                g_loss=self.generator_loss,
                d_steps=self.cfg.train.n_critic,
                g_reuses_d_batch=adversarial and self.reuses_fakes,
            )
        ]

    # -- losses
    def _split(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.cfg.data.context
        return frames[:, :k], frames[:, k:]

    def _frames_for_image_d(self, b: int, device: torch.device) -> torch.Tensor:
        k, p = self.cfg.data.context, self.cfg.data.predict
        n = min(self.cfg.model.image_d_frames, p)
        return k + torch.rand(b, p, device=device).argsort(dim=1)[:, :n]  # n distinct predicted frames

    def _frames_of_drawn_clips(self, b: int, device: torch.device) -> torch.Tensor:
        """For clips drawn from captions alone: the first frame (the first-frame generator learns
        only from this) and n - 1 distinct others."""
        length = self.cfg.data.context + self.cfg.data.predict
        n = min(self.cfg.model.image_d_frames, length)
        rest = 1 + torch.rand(b, length - 1, device=device).argsort(dim=1)[:, : n - 1]
        return torch.cat([torch.zeros(b, 1, dtype=torch.long, device=device), rest], 1)

    def _heads(self, D: nn.Module) -> list[tuple[str, float]]:
        lc, m = self.cfg.loss, self.cfg.model
        heads = [("image", lc.image_weight, m.image_d), ("video", lc.video_weight, m.video_d)]
        return [(name, weight) for name, weight, on in heads if on and weight > 0]

    def _training_caption(self, batch: VideoBatch) -> CaptionTokens | None:
        """The batch's captions with condition dropout applied (None for runs without keywords)."""
        if batch.caption is None:
            return None
        return drop_condition(batch.caption, self.cfg.model.cond_dropout)

    def _drawn_clips(
        self, G: VideoGenerator, caption: CaptionTokens | None, length: int
    ) -> tuple[torch.Tensor, CaptionTokens] | None:
        """Clips G draws from the captions of the first half of the batch alone (half: drawing a
        whole clip costs as much as the rest of the step) and those captions, or None when there
        are none to draw."""
        if caption is None or not self.keywords or self.cfg.loss.free_weight <= 0 or self.cfg.loss.adv_weight <= 0:
            return None
        half = caption.index(torch.arange(max(1, len(caption) // 2), device=caption.ids.device))
        first_frame_grad = self.cfg.model.first_frame != "vae" or self.cfg.loss.first_frame_adv
        return G.from_caption(half, length, first_frame_grad=first_frame_grad), half

    def _fakes(self, G: VideoGenerator, batch: VideoBatch) -> Fakes:
        context, future = self._split(batch.frames)
        caption = self._training_caption(batch)
        continued = G(context, future.shape[1], caption=caption)
        return Fakes(batch, caption, continued, self._drawn_clips(G, caption, batch.frames.shape[1]))

    def _fakes_for_generator(self, G: VideoGenerator, batch: VideoBatch) -> Fakes:
        """The fakes D's update of this step made of `batch`, or new ones if it made none of it."""
        kept, self._kept = self._kept, None
        return kept if kept is not None and kept.batch is batch else self._fakes(G, batch)

    def discriminator_loss(self, G: VideoGenerator, D: nn.Module, batch: VideoBatch, *, regularize: bool) -> LossOutput:
        lc = self.cfg.loss
        real = batch.frames
        b = real.shape[0]
        context = self._split(real)[0]
        if self.reuses_fakes:
            made = self._kept = self._fakes(G, batch)
        else:
            with torch.no_grad():
                made = self._fakes(G, batch)
        caption = made.caption
        fake = torch.cat([context, made.continued.detach()], 1)
        drawn = None if made.drawn is None else (made.drawn[0].detach(), made.drawn[1])
        frames = self._frames_for_image_d(b, real.device)
        match = caption is not None and lc.match_weight > 0
        # The fake side is shared: continuations, drawn clips and mismatched captions together weigh
        # as much as the real side (GAN-INT-CLS's average), or D learns to call everything fake.
        share = 1 / (1 + (lc.free_weight if drawn is not None else 0) + (lc.match_weight if match else 0))
        total: torch.Tensor | float = 0.0
        logs: dict[str, torch.Tensor | float] = {}
        for name, weight in self._heads(D):
            out = discriminator_objective(
                lc,
                _head(D, frames, name, caption),
                real,
                fake,
                regularize=regularize,
                prefix=f"d_{name}",
                fake_share=share,
            )
            loss = out.loss
            logs.update(out.logs)
            if drawn is not None:
                drawn_clips, drawn_caption = drawn
                drawn_frames = self._frames_of_drawn_clips(len(drawn_caption), real.device)
                drawn_logits = D(drawn_clips, drawn_frames, head=name, caption=drawn_caption)
                drawn_loss = fake_loss(lc.kind, drawn_logits)
                loss = loss + share * lc.free_weight * drawn_loss
                logs[f"d_{name}_drawn"] = drawn_loss.detach()
            if match and caption is not None:
                wrong, rows = mismatched(caption)
                wrong_logits = D(real, frames, head=name, caption=wrong)
                per_logit = rows.repeat_interleave(wrong_logits.shape[0] // b)
                match_loss = fake_loss(lc.kind, wrong_logits, per_logit)
                loss = loss + share * lc.match_weight * match_loss
                logs[f"d_{name}_mismatch"] = match_loss.detach()
            total = total + weight * loss
        assert isinstance(total, torch.Tensor)  # at least one head (VideoModelConfig checks)
        return LossOutput(total, logs)

    def _redraw(self, G: VideoGenerator, frames: torch.Tensor, caption: CaptionTokens) -> LossOutput:
        """The first-frame VAE's loss on frames (n, c, h, w) with their captions: `loss.recon_weight`
        times the binary cross-entropy of the redrawn frames' values in [0, 1] (L1's best guess
        where a stroke may or may not be is black, and its redraws of moving digits went blank),
        plus `loss.kl_weight` times the KL divergence of their encodings from the prior. The
        captions lose `model.first_frame_word_dropout` of their words."""
        lc = self.cfg.loss
        redrawn, kl = G.redraw_first_frame(frames, drop_words(caption, self.cfg.model.first_frame_word_dropout))
        bce = F.binary_cross_entropy(to_zero_one(redrawn).clamp(1e-4, 1 - 1e-4), to_zero_one(frames))
        loss = lc.recon_weight * bce + lc.kl_weight * kl
        return LossOutput(loss, {"g_first_bce": bce.detach(), "g_first_kl": kl.detach()})

    def first_frame_loss(self, G: VideoGenerator, D: nn.Module, batch: VideoBatch) -> LossOutput:
        """The first-frame pre-training phase (model.first_frame_steps): the VAE alone, redrawing two
        random frames of each clip (each a frame its caption could start from): a cheap step."""
        caption = self._training_caption(batch)
        assert caption is not None  # the phase exists only in keywords runs
        b, length = batch.frames.shape[:2]
        picked = torch.rand(b, length, device=batch.frames.device).argsort(dim=1)[:, :2]
        frames = batch.frames[torch.arange(b, device=picked.device)[:, None], picked]
        return self._redraw(G, frames.flatten(0, 1), caption.repeat(picked.shape[1]))

    def generator_loss(self, G: VideoGenerator, D: nn.Module, batch: VideoBatch) -> LossOutput:
        lc = self.cfg.loss
        b = batch.frames.shape[0]
        context, future = self._split(batch.frames)
        made = self._fakes_for_generator(G, batch)
        caption, pred = made.caption, made.continued
        error = pred.float() - future.float()
        terms = {"l1": error.abs().mean, "mse": error.square().mean}
        parts = {kind: terms[kind]() for kind in lc.recon.split("+")}
        loss = lc.recon_weight * torch.stack(list(parts.values())).sum()
        logs: dict[str, Any] = {f"g_{kind}": part.detach() for kind, part in parts.items()}
        if G.first_frame_encoder is not None and caption is not None:
            first = self._redraw(G, batch.frames[:, 0], caption)
            loss = loss + first.loss
            logs.update(first.logs)
        if lc.adv_weight > 0:
            clip = torch.cat([context, pred], 1)
            frames = self._frames_for_image_d(b, clip.device)
            drawn = made.drawn
            for name, weight in self._heads(D):
                logits, maps = D(clip, frames, head=name, caption=caption, features=True)
                adv = generator_loss(lc.kind, logits)
                loss = loss + lc.adv_weight * weight * adv
                logs[f"g_{name}"] = adv.detach()
                if lc.feature_weight > 0:
                    with torch.no_grad():
                        _, real_maps = D(batch.frames, frames, head=name, caption=caption, features=True)
                    matching = torch.stack([(f - r).abs().mean() for f, r in zip(maps, real_maps)]).mean()
                    loss = loss + lc.feature_weight * weight * matching
                    logs[f"g_{name}_features"] = matching.detach()
                if drawn is not None:
                    drawn_clips, drawn_caption = drawn
                    drawn_frames = self._frames_of_drawn_clips(len(drawn_caption), clip.device)
                    adv = generator_loss(lc.kind, D(drawn_clips, drawn_frames, head=name, caption=drawn_caption))
                    loss = loss + lc.adv_weight * weight * lc.free_weight * adv
                    logs[f"g_{name}_drawn"] = adv.detach()
        return LossOutput(loss, logs)

    # -- sampling
    def heldout_clips(
        self, n: int, context: int | None = None, predict: int | None = None, start: int = 0
    ) -> tuple[torch.Tensor, list[str | None]]:
        """Held-out clips start..start+n (fewer if there are fewer) as (n, K + P, c, h, w) in [-1, 1],
        and their captions (None: uncaptioned, or a run without keywords)."""
        ds = self.heldout(predict, context)
        rows = range(start, min(start + n, len(ds)))
        clips = to_unit(torch.stack([ds[i] for i in rows]))
        if not self.keywords:
            return clips, [None] * len(rows)
        captioned = CaptionedClips(ds, self.captions(ds))
        return clips, [captioned.caption(i) for i in rows]

    @torch.no_grad()
    def sample(self, G: nn.Module, n: int, *, seed: int) -> dict[str, Any]:
        """The first n held-out clips continued from their K context frames (following their
        captions in a keywords run): {"context", "generated", "truth"}. A keywords run adds
        "drawn", clips of the same length drawn from the captions alone, and the "captions"."""
        k, p = self.cfg.data.context, self.cfg.data.eval_predict
        clips, captions = self.heldout_clips(n, predict=p)
        context, truth = clips[:, :k], clips[:, k:]
        model = VideoPipeline(self.cfg, cast(VideoGenerator, G))
        caption = self.encode(captions) if self.keywords else None
        generated = model.continue_clips(context, p, seed=seed, caption=caption)[0]
        out: dict[str, Any] = {"context": context.cpu(), "generated": generated, "truth": truth}
        if caption is not None:
            out["drawn"] = model.draw_clips(caption, k + p, seed=seed)[0]
            out["captions"] = captions
        return out

    def write_samples(self, samples: dict[str, Any], out_dir: Path, step: int) -> None:
        """step_N/clip_XX.mp4 (context then generated frames) and step_N/side_by_side.mp4 and .gif
        (truth | generated, one row per clip, context frames shown on both sides). A keywords run
        adds step_N/keywords.mp4 and .gif (clips drawn from the captions alone, one row per
        caption) and keywords.txt (the captions, in row order)."""
        folder = out_dir / f"step_{step:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        context, generated = samples["context"], samples["generated"]
        for i in range(context.shape[0]):
            write_video(folder / f"clip_{i:02d}.mp4", to_frames(torch.cat([context[i], generated[i]])))
        grid = side_by_side(context, samples["truth"], generated)
        write_video(folder / "side_by_side.mp4", grid)
        write_video(folder / "side_by_side.gif", grid)
        if "drawn" in samples:
            drawn = tiles([samples["drawn"]])
            write_video(folder / "keywords.mp4", drawn)
            write_video(folder / "keywords.gif", drawn)
            lines = [c if c is not None else "(no caption)" for c in samples["captions"]]
            (folder / "keywords.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _head(
    D: nn.Module, frames: torch.Tensor, name: str, caption: CaptionTokens | None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """D's score of a clip by one head ("image" or "video"), given the clips' captions."""
    return lambda clip: D(clip, frames, head=name, caption=caption)


def side_by_side(context: torch.Tensor, truth: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """uint8 (t, H, W, c): each clip's row is (truth | generated), context frames on both sides."""
    return tiles([torch.cat([context, truth], 1), torch.cat([context, generated], 1)])


def tiles(columns: list[torch.Tensor], gap: int = 2) -> torch.Tensor:
    """Columns of clips (b, t, c, h, w) in [-1, 1] -> one uint8 video (t, H, W, c): clip i of every
    column side by side in row i, white lines between tiles."""
    b, t, c, h, w = columns[0].shape
    canvas = torch.ones(t, c, b * (h + gap) - gap, len(columns) * (w + gap) - gap)
    for j, column in enumerate(columns):
        for i in range(b):
            top, left = i * (h + gap), j * (w + gap)
            canvas[:, :, top : top + h, left : left + w] = column[i]
    return to_frames(canvas)
