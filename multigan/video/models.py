"""A frame-conditioned video GAN: a generator with a choice of two cores and a split (image + video)
discriminator.

Generator, SimVP core (`model.core=simvp`, the default). A SimVP-style predictor (Gao et al.,
CVPR 2022, the strongest cheap model of OpenSTL's Moving-MNIST table): a shared frame encoder to
1/4 of the frame size, a translator that reads the K stacked latents at once (gated spatial
attention blocks, as SimVP v2's gSTA) and writes the next P latents (`model.pass_frames`, by
default data.predict), and a shared decoder with a skip from the last seed frame. Longer rollouts
feed the last K frames, generated ones included, back in for another pass.

Generator, GRU core (`model.core=gru`). Each frame goes through a small conv encoder (features at
1/1, 1/2, 1/4 and 1/8 of the frame size; the finer ones are kept as skip connections). A ConvGRU
at 1/8 resolution reads the K context frames one by one, then rolls forward: from its state and
the skips of the latest frame a decoder produces the next frame, which is encoded and fed back.

Both cores take the same noise: one map per clip (a vector broadcast over space) and one per
predicted frame. Both decoders' output is a composite, in the spirit of SAVP and CDNA: the
previous frame warped by a predicted flow field, blended by a predicted mask with a directly
synthesised image. The flow starts at zero and the mask near one, so an untrained generator
copies the last frame (the usual baseline) and learns motion from there.

Discriminators. The image discriminator judges single frames (2D convolutions); the video
discriminator judges whole clips, context + generated frames (3D convolutions). Both can carry
spectral normalisation.

Keywords (`model.keywords`). G and D each own a caption encoder (multigan.core.conditioning).
G's caption vector scales and shifts (FiLM) what the core reads (the translator's input, or the
GRU's at every step), and a first-frame generator draws frame 0 from the caption and a noise
vector, so a clip can start from keywords alone; with `model.first_frame="vae"` that generator is
also the decoder of a conditional VAE (an encoder reads the real first frame and its caption into
the noise vector it must be redrawn from), so it learns to draw from a reconstruction signal and
not from D's alone (BicycleGAN's cVAE-GAN, SAVP's VAE-GAN). With `model.first_frame_caption="own"`
the first frame reads the caption through an encoder of its own, which only its losses train. Both
discriminators add a projection
term <embed(caption), features> to their logit.

Both take the recipe's `model.*` config (multigan.video.config.VideoModelConfig) and the frames'
channels. Tensors are (b, t, c, h, w) in [-1, 1]; einops does the (b t) folding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from multigan.core.conditioning import CaptionTokens, FiLM, caption_encoder, projection
from multigan.video.config import VideoModelConfig


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.GroupNorm(_groups(cout), cout), nn.SiLU())


def _groups(ch: int) -> int:
    return next(g for g in (8, 4, 2, 1) if ch % g == 0)


class CoordConv(nn.Module):
    """`_conv` over the input and two channels holding each pixel's x and y in [-1, 1] (Liu et al.
    2018, CoordConv), for a net that must say where something is."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv = _conv(cin + 2, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy")).expand(b, -1, -1, -1)
        return self.conv(torch.cat([x, grid], 1))


def _encoder_conv(coords: bool) -> Callable[..., nn.Module]:
    """A conv level of G's frame encoders: with `model.coords` a CoordConv, so that how far a wall is
    can be read at every scale (the digits bounce off the walls)."""
    return CoordConv if coords else _conv


class FrameEncoder(nn.Module):
    """Frame (n, c, h, w) -> features at 1/1, 1/2, 1/4, 1/8 resolution (finest first)."""

    def __init__(self, channels: int, width: int, out: int, coords: bool = False):
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        conv = _encoder_conv(coords)
        self.levels = nn.ModuleList([conv(channels, w1), conv(w1, w2, 2), conv(w2, w3, 2), conv(w3, out, 2)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for level in self.levels:
            x = level(x)
            feats.append(x)
        return feats


class ConvGRUCell(nn.Module):
    def __init__(self, cin: int, hidden: int, kernel: int = 3):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(cin + hidden, 2 * hidden, kernel, padding=kernel // 2)
        self.candidate = nn.Conv2d(cin + hidden, hidden, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        reset, update = torch.sigmoid(self.gates(torch.cat([x, h], 1))).chunk(2, 1)
        candidate = torch.tanh(self.candidate(torch.cat([x, reset * h], 1)))
        return (1 - update) * h + update * candidate


class FrameDecoder(nn.Module):
    """GRU state + skips of the latest frame -> next frame (and, with warp, flow and mask)."""

    def __init__(self, channels: int, width: int, hidden: int, warp: bool):
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        self.channels, self.warp = channels, warp
        self.up3 = _conv(hidden + hidden, w3)  # 1/8, state + skip
        self.up2 = _conv(w3 + w3, w2)  # 1/4
        self.up1 = _conv(w2 + w2, w1)  # 1/2
        self.out = output_layer(w1 + w1, channels, warp)  # 1/1

    def forward(
        self, h: torch.Tensor, skips: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(synthesised image, flow in pixels (n, 2, h, w), mask); flow and mask are None without warp."""
        up = lambda z: F.interpolate(z, scale_factor=2.0, mode="nearest")
        x = self.up3(torch.cat([h, skips[3]], 1))
        x = self.up2(torch.cat([up(x), skips[2]], 1))
        x = self.up1(torch.cat([up(x), skips[1]], 1))
        return split_output(self.out(torch.cat([up(x), skips[0]], 1)), self.channels, self.warp)


def output_layer(cin: int, channels: int, warp: bool) -> nn.Conv2d:
    """The last conv of a decoder: an image, plus a flow and a mask with warp, initialised so that
    the composite starts as "copy the last frame" (zero flow, mask ~ 0.98)."""
    out = nn.Conv2d(cin, channels + (3 if warp else 0), 3, 1, 1)
    if warp:
        with torch.no_grad():
            bias = out.bias
            assert bias is not None
            out.weight[channels:].zero_()
            bias[channels : channels + 2].zero_()
            bias[channels + 2].fill_(4.0)
    return out


def split_output(
    x: torch.Tensor, channels: int, warp: bool
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """An output layer's raw map -> (image, flow in pixels (n, 2, h, w), mask); no flow and mask without warp."""
    image = torch.tanh(x[:, :channels])
    if not warp:
        return image, None, None
    return image, x[:, channels : channels + 2], torch.sigmoid(x[:, channels + 2 :])


def warp(frame: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: out[y, x] = frame[y + flow_y, x + flow_x], flow in pixels (n, 2, h, w) as (x, y)."""
    n, _, h, w = frame.shape
    ys = torch.linspace(-1 + 1 / h, 1 - 1 / h, h, device=frame.device, dtype=frame.dtype)
    xs = torch.linspace(-1 + 1 / w, 1 - 1 / w, w, device=frame.device, dtype=frame.dtype)
    base = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # (h, w, 2) as (x, y)
    scale = torch.tensor([2 / w, 2 / h], device=frame.device, dtype=frame.dtype)
    grid = base + rearrange(flow, "n two h w -> n h w two") * scale
    return F.grid_sample(frame, grid, mode="bilinear", padding_mode="border", align_corners=False)


class FirstFrameGenerator(nn.Module):
    """(noise (b, cfg.first_frame_noise), caption vector (b, cond_dim)) -> frame (b, c, size, size):
    a linear map to a 1/8-scale feature map, then three (upsample, conv) levels, as in DCGAN.

    With cfg.first_frame_sprites = N > 0 these draw N sprites half the frame's side instead, each
    from its share of the noise, the caption and which sprite it is; a small MLP reads from the same
    where each sprite's centre stands (within 3/4 of the way from the frame's centre to its edges),
    each is pasted there on a black frame (a translation-only spatial transformer), and the frame
    is their maximum (as moving digits are combined). Where and what are then apart: the conv levels
    draw one centred object, and a place cannot come out as two half-objects at two places."""

    def __init__(self, cfg: VideoModelConfig, channels: int, size: int):
        super().__init__()
        self.sprites = cfg.first_frame_sprites
        unit = 16 if self.sprites else 8
        if size < unit or size % unit:
            raise ValueError(
                f"the first-frame generator{' (model.first_frame_sprites)' if self.sprites else ''} "
                f"needs a frame size that is a multiple of {unit}, got {size}"
            )
        w1, w2, w3 = cfg.g_width, 2 * cfg.g_width, 4 * cfg.g_width
        self.size, self.side = size, size // unit
        slots = self.sprites if self.sprites > 1 else 0  # which sprite: a one-hot input
        inputs = cfg.first_frame_noise // max(self.sprites, 1) + cfg.cond_dim + slots
        self.fc = nn.Linear(inputs, w3 * self.side**2)
        self.film = FiLM(cfg.cond_dim, w3)
        self.blocks = nn.ModuleList([_conv(w3, w3), _conv(w3, w2), _conv(w2, w1), _conv(w1, w1)])
        self.out = nn.Conv2d(w1, channels, 3, 1, 1)
        self.where = nn.Sequential(nn.Linear(inputs, 64), nn.SiLU(), nn.Linear(64, 2)) if self.sprites else None

    def forward(self, noise: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        b, n = noise.shape[0], max(self.sprites, 1)
        cond = cond.to(noise.dtype).repeat_interleave(n, 0)  # (b * n, cond_dim): sprite-major per clip
        parts = [noise.reshape(b * n, -1), cond]
        if self.sprites > 1:
            parts.append(torch.eye(n, device=noise.device, dtype=noise.dtype).repeat(b, 1))
        inputs = torch.cat(parts, 1)
        x = self.fc(inputs).view(b * n, -1, self.side, self.side)
        x = self.film(self.blocks[0](x), cond)
        for block in self.blocks[1:]:
            x = block(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        drawn = torch.tanh(self.out(x))
        if self.where is None:
            return drawn
        centre = 0.75 * torch.tanh(self.where(inputs))  # (x, y) in the frame's [-1, 1] coordinates
        scale = self.size / drawn.shape[-1]  # frame side / sprite side
        theta = centre.new_zeros(b * n, 2, 3)  # frame coordinates -> sprite coordinates
        theta[:, 0, 0] = theta[:, 1, 1] = scale
        theta[:, :, 2] = -scale * centre
        grid = F.affine_grid(theta, [b * n, drawn.shape[1], self.size, self.size], align_corners=False)
        placed = F.grid_sample(drawn + 1, grid, padding_mode="zeros", align_corners=False) - 1  # black around it
        return placed.view(b, n, *placed.shape[1:]).amax(1)


class FirstFrameEncoder(nn.Module):
    """(frame (b, c, size, size), caption vector (b, cond_dim)) -> (mean, log-variance) of the
    first-frame noise, each (b, cfg.first_frame_noise): q(z | frame, caption) of a conditional VAE.
    Three stride-2 convs that see the pixel coordinates, to 1/8 scale, flattened (where the digit
    stands is what z must carry), then one linear map that also reads the caption, so z need not
    repeat what the caption says."""

    def __init__(self, cfg: VideoModelConfig, channels: int, size: int):
        super().__init__()
        w1, w2, w3 = cfg.g_width, 2 * cfg.g_width, 4 * cfg.g_width
        self.convs = nn.Sequential(CoordConv(channels, w1, 2), CoordConv(w1, w2, 2), CoordConv(w2, w3, 2))
        self.fc = nn.Linear(w3 * (size // 8) ** 2 + cfg.cond_dim, 2 * cfg.first_frame_noise)

    def forward(self, frame: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.convs(frame).flatten(1)
        mean, log_var = self.fc(torch.cat([x, cond.to(x.dtype)], 1)).chunk(2, dim=1)
        return mean, log_var.clamp(-10, 10)


class GatedSpatialAttention(nn.Module):
    """One translator block: x + gate(large-kernel depthwise convs)(x), then x + MLP(x), both
    after a GroupNorm (SimVP v2's gSTA, written from the paper)."""

    def __init__(self, ch: int):
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(_groups(ch), ch), nn.GroupNorm(_groups(ch), ch)
        self.local = nn.Conv2d(ch, ch, 5, padding=2, groups=ch)
        self.dilated = nn.Conv2d(ch, ch, 7, padding=9, dilation=3, groups=ch)  # reach 19 px at 1/4 scale
        self.gate = nn.Conv2d(ch, 2 * ch, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(ch, 4 * ch, 1),
            nn.Conv2d(4 * ch, 4 * ch, 3, padding=1, groups=4 * ch),
            nn.GELU(),
            nn.Conv2d(4 * ch, ch, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.gate(self.dilated(self.local(self.norm1(x)))).chunk(2, 1)
        x = x + torch.sigmoid(gate) * value
        return x + self.mlp(self.norm2(x))


class SimVPCore(nn.Module):
    """K frames' encoder inputs (b, K, c', h, w) + noise -> the P next frames' decoder outputs,
    all at once: encode each frame to 1/4 scale, stack the K latents along channels, translate
    them to P latents, decode each with the last frame's full-resolution features as a skip."""

    def __init__(self, cfg: VideoModelConfig, cin: int, channels: int, context: int, pass_frames: int):
        super().__init__()
        w1, w2 = cfg.g_width, 2 * cfg.g_width
        self.context, self.pass_frames = context, pass_frames
        conv = _encoder_conv(cfg.coords)
        self.encoder = nn.ModuleList([conv(cin, w1), conv(w1, w2, 2), conv(w2, w2, 2)])
        noise = cfg.z_clip + cfg.z_frame * pass_frames
        self.into = nn.Conv2d(context * w2 + noise, cfg.hidden, 1)
        self.translator = nn.Sequential(*[GatedSpatialAttention(cfg.hidden) for _ in range(cfg.blocks)])
        self.out_of = nn.Conv2d(cfg.hidden, pass_frames * w2, 1)
        self.up2, self.up1 = _conv(w2, w2), _conv(w2 + w2, w1)  # 1/4 -> 1/2, 1/2 (+ skip) -> 1/1
        self.out = output_layer(w1 + w1, channels, cfg.warp)

    def forward(
        self, inputs: torch.Tensor, noise: torch.Tensor, film: FiLM | None, cond: torch.Tensor | None
    ) -> torch.Tensor:
        """(b, K, c', h, w), noise (b, z, h/4, w/4) -> the output layer's raw maps (b, P, c + 3 | c, h, w)."""
        b = inputs.shape[0]
        x = rearrange(inputs, "b k c h w -> (b k) c h w")
        skips = []
        for level in self.encoder:
            x = level(x)
            skips.append(x)
        latents = rearrange(x, "(b k) c h w -> b (k c) h w", b=b)
        y = self.into(torch.cat([latents, noise], 1))
        if film is not None and cond is not None:
            y = film(y, cond)
        y = rearrange(self.out_of(self.translator(y)), "b (p c) h w -> (b p) c h w", p=self.pass_frames)
        up = lambda z: F.interpolate(z, scale_factor=2.0, mode="nearest")
        # the last seed frame's features at a scale, once for each of the P frames decoded
        last = lambda f: repeat(
            rearrange(f, "(b k) c h w -> b k c h w", b=b)[:, -1], "b c h w -> (b p) c h w", p=self.pass_frames
        )
        y = self.up1(torch.cat([up(self.up2(y)), last(skips[1])], 1))
        y = self.out(torch.cat([up(y), last(skips[0])], 1))
        return rearrange(y, "(b p) c h w -> b p c h w", b=b)


class VideoGenerator(nn.Module):
    """G(context (b, K, c, h, w) in [-1, 1], num_frames) -> the next num_frames frames (b, N, c, h, w).

    Frame sides must be multiples of 8. Any K >= 1 works: the GRU reads context frames one by one;
    the SimVP core (cfg.core="simvp") reads the last `context` frames, the first one repeated in
    front when there are fewer, and writes `pass_frames` frames per pass of its translator.
    `generator` (a torch.Generator on the right device) makes the noise reproducible. A keywords
    model (cfg.keywords; `vocab_size` words, frames of `frame_size`) also takes `caption` tokens
    (None: no condition), and `from_caption` draws whole clips, first frame included.
    """

    def __init__(
        self,
        cfg: VideoModelConfig | None = None,
        channels: int = 1,
        vocab_size: int = 0,
        frame_size: int = 0,
        context: int = 10,
        pass_frames: int = 5,
    ):
        super().__init__()
        self.cfg = cfg = cfg or VideoModelConfig()
        self.channels = channels
        cin = channels * (2 if cfg.motion_input else 1)
        self.simvp = SimVPCore(cfg, cin, channels, context, pass_frames) if cfg.core == "simvp" else None
        if self.simvp is None:
            self.encoder = FrameEncoder(cin, cfg.g_width, cfg.hidden, cfg.coords)
            self.gru = ConvGRUCell(cfg.hidden + cfg.z_clip + cfg.z_frame, cfg.hidden)
            self.decoder = FrameDecoder(channels, cfg.g_width, cfg.hidden, cfg.warp)
        words = lambda: caption_encoder(vocab_size, cfg.cond_dim, cfg.text_encoder, cfg.caption_bag)
        self.condition = words() if cfg.keywords else None
        # "own": the continuation's losses keep training `condition` after the first frame has learnt
        # from it, and moved the first frames of held-out captions (docs/VIDEO.md)
        self.first_frame_condition = words() if cfg.keywords and cfg.first_frame_caption == "own" else None
        self.film = FiLM(cfg.cond_dim, cfg.hidden) if cfg.keywords else None
        self.first_frame = FirstFrameGenerator(cfg, channels, frame_size) if cfg.keywords else None
        vae = cfg.keywords and cfg.first_frame == "vae"
        self.first_frame_encoder = FirstFrameEncoder(cfg, channels, frame_size) if vae else None

    def forward(
        self,
        context: torch.Tensor,
        num_frames: int,
        *,
        caption: CaptionTokens | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        if context.ndim != 5 or context.shape[2] != self.channels:
            raise ValueError(f"context must be (b, K, {self.channels}, h, w), got {tuple(context.shape)}")
        b, k, _, h, w = context.shape
        if h % 8 or w % 8:
            raise ValueError(f"frame sides must be multiples of 8, got {h}x{w}")
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        return self._roll(context, num_frames, self.encode_caption(caption, b, context.device), generator)

    def encode_caption(self, caption: CaptionTokens | None, b: int, device: torch.device) -> torch.Tensor | None:
        """The caption vector (b, cond_dim) of a keywords model (its null vector for None); None otherwise."""
        if self.condition is None:
            if caption is not None:
                raise ValueError("this generator was trained without keywords (model.keywords=false)")
            return None
        if caption is None:
            caption = no_caption(b, device)
        return self.condition(caption.to(device))

    def encode_first_frame_caption(self, caption: CaptionTokens, device: torch.device) -> torch.Tensor:
        """The caption vector (b, cond_dim) the first-frame generator (and encoder) read."""
        if self.first_frame_condition is None:
            cond = self.encode_caption(caption, len(caption), device)
            assert cond is not None
            return cond
        return self.first_frame_condition(caption.to(device))

    def from_caption(
        self,
        caption: CaptionTokens,
        num_frames: int,
        *,
        generator: torch.Generator | None = None,
        first_frame_grad: bool = True,
    ) -> torch.Tensor:
        """Whole clips (b, num_frames, c, h, w) from captions alone: a drawn first frame, then its
        continuation. With first_frame_grad=False no gradient reaches the first-frame generator
        through these clips (the continuation still learns from them)."""
        if self.first_frame is None:
            raise ValueError("this generator was trained without keywords (model.keywords=false)")
        device = next(self.parameters()).device
        cond = self.encode_caption(caption, len(caption), device)
        assert cond is not None
        noise = torch.randn(len(caption), self.cfg.first_frame_noise, generator=generator, device=device)
        first = self.first_frame(noise, self.encode_first_frame_caption(caption, device))[:, None]
        if not first_frame_grad:
            first = first.detach()
        if num_frames == 1:
            return first
        return torch.cat([first, self._roll(first, num_frames - 1, cond, generator)], 1)

    def redraw_first_frame(
        self, frame: torch.Tensor, caption: CaptionTokens | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A VAE first-frame generator (cfg.first_frame="vae") redrawing real first frames (b, c, h, w)
        from their encoding: (the redrawn frames, the KL divergence of the encoding from the prior
        that from_caption samples, summed over the noise and averaged over the batch)."""
        if self.first_frame is None or self.first_frame_encoder is None:
            raise ValueError('only a keywords generator with model.first_frame="vae" redraws first frames')
        cond = self.encode_first_frame_caption(caption or no_caption(frame.shape[0], frame.device), frame.device)
        mean, log_var = self.first_frame_encoder(frame, cond)
        noise = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        kl = 0.5 * (mean.square() + log_var.exp() - 1 - log_var).sum(1).mean()
        return self.first_frame(noise, cond), kl

    def _roll(
        self, context: torch.Tensor, num_frames: int, cond: torch.Tensor | None, generator: torch.Generator | None
    ) -> torch.Tensor:
        if self.simvp is not None:
            return self._roll_simvp(self.simvp, context, num_frames, cond, generator)
        b, k, _, h, w = context.shape
        cfg = self.cfg
        feats = self.encoder(rearrange(self._encoder_input(context), "b k c h w -> (b k) c h w"))
        feats = [rearrange(f, "(b k) c h w -> b k c h w", b=b) for f in feats]
        hh, ww = h // 8, w // 8
        noise = lambda *shape: torch.randn(*shape, generator=generator, device=context.device, dtype=context.dtype)
        z_clip = repeat(noise(b, cfg.z_clip), "b c -> b c h w", h=hh, w=ww)
        quiet = context.new_zeros(b, cfg.z_frame, hh, ww)
        state = context.new_zeros(b, cfg.hidden, hh, ww)
        for i in range(k):
            state = self.gru(torch.cat([self._condition(feats[-1][:, i], cond), z_clip, quiet], 1), state)
        skips = [f[:, -1] for f in feats]
        seed = last = context[:, -1]
        carried: torch.Tensor | None = None  # warp_from="seed": the flow from the seed to this frame
        frames = []
        for t in range(num_frames):
            frame, carried = self._composite(self.decoder(state, skips), seed, last, carried)
            frames.append(frame)
            if t + 1 < num_frames:  # encode the new frame (and its motion) and step the GRU
                skips = self.encoder(self._encoder_input(torch.stack([last, frame], 1))[:, -1])
                z_frame = noise(b, cfg.z_frame, hh, ww)
                state = self.gru(torch.cat([self._condition(skips[-1], cond), z_clip, z_frame], 1), state)
            last = frame
        return torch.stack(frames, dim=1)

    def _roll_simvp(
        self,
        core: SimVPCore,
        context: torch.Tensor,
        num_frames: int,
        cond: torch.Tensor | None,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """core.pass_frames frames per pass of the translator; each later pass reads the last
        core.context frames, generated ones included."""
        b, k, _, h, w = context.shape
        cfg = self.cfg
        if k < core.context:
            context = torch.cat([context[:, :1].expand(-1, core.context - k, -1, -1, -1), context], 1)
        window = context[:, -core.context :]
        noise = lambda *shape: torch.randn(*shape, generator=generator, device=context.device, dtype=context.dtype)
        z_clip = repeat(noise(b, cfg.z_clip), "b c -> b c h w", h=h // 4, w=w // 4)
        seed = last = window[:, -1]
        carried: torch.Tensor | None = None
        frames: list[torch.Tensor] = []
        while len(frames) < num_frames:
            z = torch.cat([z_clip, noise(b, cfg.z_frame * core.pass_frames, h // 4, w // 4)], 1)
            raw = core(self._encoder_input(window), z, self.film, cond)
            for i in range(min(core.pass_frames, num_frames - len(frames))):
                frame, carried = self._composite(split_output(raw[:, i], self.channels, cfg.warp), seed, last, carried)
                frames.append(frame)
                last = frame
            window = torch.cat([window, torch.stack(frames[-core.pass_frames :], 1)], 1)[:, -core.context :]
        return torch.stack(frames, dim=1)

    def _composite(
        self,
        output: tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None],
        seed: torch.Tensor,
        last: torch.Tensor,
        carried: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the next frame, the flow from the seed to it): the decoder's image, or with warp the mask's
        blend of it with the previous frame warped by the flow (model.warp_from="seed": the seed
        warped by the composed flows, resampled once, so no blur builds up)."""
        image, flow, mask = output
        if flow is None or mask is None:
            return image, carried
        if self.cfg.warp_from == "seed":
            carried = flow if carried is None else flow + warp(carried, flow)
            return mask * warp(seed, carried) + (1 - mask) * image, carried
        return mask * warp(last, flow) + (1 - mask) * image, carried

    def _condition(self, features: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        return features if cond is None or self.film is None else self.film(features, cond)

    def _encoder_input(self, frames: torch.Tensor) -> torch.Tensor:
        """(b, t, c, h, w) -> the encoder's input: frames, plus their temporal differences (zero
        for the first frame) when motion_input is on. Motion is then visible at full resolution."""
        if not self.cfg.motion_input:
            return frames
        diff = torch.cat([torch.zeros_like(frames[:, :1]), frames[:, 1:] - frames[:, :-1]], 1)
        return torch.cat([frames, diff], 2)


def no_caption(b: int, device: torch.device | str = "cpu") -> CaptionTokens:
    """b rows without a condition."""
    return CaptionTokens(
        torch.zeros(b, 1, dtype=torch.long, device=device),
        torch.zeros(b, 1, dtype=torch.bool, device=device),
        torch.zeros(b, dtype=torch.bool, device=device),
    )


def _maybe_sn(module: nn.Module, on: bool) -> nn.Module:
    return spectral_norm(module) if on else module


class ImageDiscriminator(nn.Module):
    """Frames (n, c, h, w) [+ caption vectors (n, cond_dim)] -> one logit per frame (and the
    activations of every layer)."""

    def __init__(self, channels: int, w: int, sn: bool, cond_dim: int = 0):
        super().__init__()
        layers: list[nn.Module] = []
        cin = channels
        for cout in (w, 2 * w, 4 * w, 4 * w):
            layers += [_maybe_sn(nn.Conv2d(cin, cout, 4, 2, 1), sn), nn.LeakyReLU(0.2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = _maybe_sn(nn.Linear(cin, 1), sn)
        self.embed = _maybe_sn(nn.Linear(cond_dim, cin), sn) if cond_dim else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(logits, the activations of every layer)."""
        maps = _feature_maps(self.features, x)
        return _logit(self.head, self.embed, maps[-1].mean(dim=(2, 3)), cond), maps


def _feature_maps(features: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of every (conv, activation) pair of `features`, first to last."""
    maps = []
    for layer in features:
        x = layer(x)
        if isinstance(layer, nn.LeakyReLU):
            maps.append(x)
    return maps


def _logit(head: nn.Module, embed: nn.Module | None, h: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
    logit = head(h).squeeze(1)
    if embed is not None and cond is not None:
        logit = logit + projection(embed(cond.to(h.dtype)), h)
    return logit


class ClipDiscriminator(nn.Module):
    """Clips (b, t, c, h, w) [+ caption vectors (b, cond_dim)] -> one logit per clip, from 3D
    convolutions over time and space (and the activations of every layer)."""

    def __init__(self, channels: int, w: int, sn: bool, cond_dim: int = 0):
        super().__init__()
        layers: list[nn.Module] = []
        cin = channels
        for cout, st in ((w, 1), (2 * w, 2), (4 * w, 2), (4 * w, 1)):
            layers += [_maybe_sn(nn.Conv3d(cin, cout, (3, 4, 4), (st, 2, 2), (1, 1, 1)), sn), nn.LeakyReLU(0.2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = _maybe_sn(nn.Linear(cin, 1), sn)
        self.embed = _maybe_sn(nn.Linear(cond_dim, cin), sn) if cond_dim else None

    def forward(self, clip: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        maps = _feature_maps(self.features, rearrange(clip, "b t c h w -> b c t h w"))
        return _logit(self.head, self.embed, maps[-1].mean(dim=(2, 3, 4)), cond), maps


class VideoDiscriminator(nn.Module):
    """Both discriminators as one module, so the trainer sees one D (one optimizer, one state).

    forward(clip, frames) -> {"image": (b * n,), "video": (b,)} logits: the image D judges the
    frames at indices `frames` (b, n) of each clip (all frames when None), the video D the whole
    clip. `head="image"` or `"video"` runs and returns only that one; with `features=True`, as
    (logits, the activations of each of its layers), for feature matching. A keywords D (cfg.keywords)
    also reads each clip's `caption` (None: no condition) through its own caption encoder.
    """

    def __init__(self, cfg: VideoModelConfig | None = None, channels: int = 1, vocab_size: int = 0):
        super().__init__()
        self.cfg = cfg = cfg or VideoModelConfig()
        if not (cfg.image_d or cfg.video_d):
            raise ValueError("the video GAN needs at least one of the image and video discriminators")
        cond_dim = cfg.cond_dim if cfg.keywords else 0
        self.condition = (
            caption_encoder(vocab_size, cfg.cond_dim, cfg.text_encoder, cfg.caption_bag) if cfg.keywords else None
        )
        self.image = ImageDiscriminator(channels, cfg.d_width, cfg.spectral_norm, cond_dim) if cfg.image_d else None
        self.video = ClipDiscriminator(channels, cfg.d_width, cfg.spectral_norm, cond_dim) if cfg.video_d else None

    @property
    def heads(self) -> tuple[str, ...]:
        return tuple(name for name in ("image", "video") if getattr(self, name) is not None)

    def forward(
        self,
        clip: torch.Tensor,
        frames: torch.Tensor | None = None,
        head: str | None = None,
        caption: CaptionTokens | None = None,
        features: bool = False,
    ) -> dict[str, torch.Tensor] | torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        if head is not None and head not in self.heads:
            raise ValueError(f"no {head!r} discriminator here (have {', '.join(self.heads)})")
        if features and head is None:
            raise ValueError("features=True needs one head")
        cond = None
        if self.condition is not None:
            cond = self.condition((caption or no_caption(clip.shape[0])).to(clip.device))
        out = {}
        if self.image is not None and head in (None, "image"):
            if frames is None:
                frames = torch.arange(clip.shape[1], device=clip.device).expand(clip.shape[0], -1)
            picked = clip[torch.arange(clip.shape[0], device=clip.device)[:, None], frames]
            frame_cond = None if cond is None else cond.repeat_interleave(frames.shape[1], dim=0)
            out["image"] = self.image(rearrange(picked, "b n c h w -> (b n) c h w"), frame_cond)
        if self.video is not None and head in (None, "video"):
            out["video"] = self.video(clip, cond)
        if head is None:
            return {name: logit for name, (logit, _) in out.items()}
        return out[head] if features else out[head][0]
