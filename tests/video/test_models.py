"""The video generator and discriminators: shapes, reproducible noise, gradients, the copy-last start."""

import pytest
import torch

from multigan.core.errors import ConfigError
from multigan.video.config import VideoModelConfig
from multigan.video.models import VideoDiscriminator, VideoGenerator, warp

SMALL_G = dict(core="gru", g_width=4, hidden=8, z_clip=2, z_frame=2)


def context(b=2, k=3, c=1, h=16, w=16, seed=0):
    return torch.rand(b, k, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("k, n, c, h, w", [(1, 1, 1, 8, 8), (3, 5, 1, 16, 16), (4, 2, 3, 16, 24)])
def test_generator_shapes_for_several_context_lengths_and_horizons(k, n, c, h, w):
    g = VideoGenerator(VideoModelConfig(**SMALL_G), channels=c)
    out = g(context(2, k, c, h, w), n)
    assert out.shape == (2, n, c, h, w)
    assert out.isfinite().all() and out.abs().max() <= 1


@pytest.mark.parametrize("warp_on", [True, False])
def test_generation_runs_past_the_training_length(warp_on):
    g = VideoGenerator(VideoModelConfig(warp=warp_on, **SMALL_G))
    ctx = context(k=2)
    short = g(ctx, 3, generator=torch.Generator().manual_seed(1))
    long = g(ctx, 12, generator=torch.Generator().manual_seed(1))
    assert long.shape == (2, 12, 1, 16, 16) and long.isfinite().all()
    # The first frames of a longer rollout are the short rollout: the horizon only adds frames.
    assert torch.allclose(long[:, :3], short, atol=1e-6)


def test_noise_is_reproducible_from_a_generator_and_changes_the_output():
    g = VideoGenerator(VideoModelConfig(warp=False, **SMALL_G))
    ctx = context()
    a = g(ctx, 3, generator=torch.Generator().manual_seed(7))
    b = g(ctx, 3, generator=torch.Generator().manual_seed(7))
    c = g(ctx, 3, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_an_untrained_generator_starts_close_to_copying_the_last_frame():
    g = VideoGenerator(VideoModelConfig(**SMALL_G))
    ctx = context()
    out = g(ctx, 4)
    assert (out - ctx[:, -1:]).abs().mean() < 0.05


def test_warp_moves_content_by_the_flow():
    frame = torch.zeros(1, 1, 8, 8)
    frame[0, 0, 3, 2] = 1.0
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0] = -2.0  # out[y, x] = frame[y, x - 2]: content moves 2 px right
    moved = warp(frame, flow)
    assert moved[0, 0, 3, 4].item() == pytest.approx(1.0)
    assert moved.sum().item() == pytest.approx(1.0)
    assert torch.equal(warp(frame, torch.zeros_like(flow)), frame)


@pytest.mark.parametrize("warp_from", ["previous", "seed"])
def test_warping_the_seed_by_the_composed_flow_keeps_half_pixel_steps_sharp(warp_from):
    ctx = -torch.ones(1, 1, 1, 16, 16)
    ctx[..., 6:9, 4:7] = 1.0  # a white square on black
    g = VideoGenerator(VideoModelConfig(warp_from=warp_from, **SMALL_G))
    with torch.no_grad():  # the decoder's output fixed: flow 0.5 px to the right everywhere, mask ~1
        g.decoder.out.weight.zero_()
        bias = g.decoder.out.bias
        bias.zero_()
        bias[1], bias[3] = -0.5, 20.0  # channels: image, flow x, flow y, mask
        out = g(ctx, 2)
    one_pixel_right = ctx[:, 0].roll(1, dims=-1)
    error = (out[:, 1] - one_pixel_right).abs().max().item()
    if warp_from == "seed":  # 0.5 + 0.5 px composed, the seed resampled once: an exact shift
        assert error < 1e-4
    else:  # two half-pixel bilinear resamplings: the square's edges are smeared
        assert error > 0.2
    with pytest.raises(ConfigError, match="model.warp_from"):
        VideoModelConfig(warp_from="first")


def test_gradients_reach_the_generator_through_the_discriminator():
    g = VideoGenerator(VideoModelConfig(**SMALL_G))
    d = VideoDiscriminator(VideoModelConfig(d_width=4))
    ctx = context()
    fake = g(ctx, 2)
    logits = d(torch.cat([ctx, fake], 1), torch.tensor([[3, 4], [4, 3]]))
    assert logits["image"].shape == (4,) and logits["video"].shape == (2,)
    (logits["image"].mean() + logits["video"].mean()).backward()
    assert all(p.grad is not None and p.grad.isfinite().all() for p in g.encoder.parameters())
    assert all(p.grad is not None for p in d.parameters())


def test_discriminator_options():
    clip = context(2, 5, 3, 16, 16)
    only_video = VideoDiscriminator(VideoModelConfig(d_width=4, image_d=False), channels=3)
    assert set(only_video(clip)) == {"video"}
    plain = VideoDiscriminator(VideoModelConfig(d_width=4, spectral_norm=False), channels=3)
    normed = VideoDiscriminator(VideoModelConfig(d_width=4, spectral_norm=True), channels=3)
    assert not any("parametrizations" in n for n, _ in plain.named_parameters())
    assert any("parametrizations" in n for n, _ in normed.named_parameters())
    assert plain(clip)["image"].shape == (10,)  # every frame when no indices are given
    with pytest.raises(ConfigError, match="at least one discriminator"):
        VideoModelConfig(image_d=False, video_d=False)


def test_bad_inputs_are_named():
    g = VideoGenerator(VideoModelConfig(**SMALL_G))
    with pytest.raises(ValueError, match="multiples of 8"):
        g(context(h=12), 2)
    with pytest.raises(ValueError, match=r"\(b, K, 1, h, w\)"):
        g(context(c=3), 2)
    with pytest.raises(ValueError, match="num_frames"):
        g(context(), 0)


def test_discriminator_features_for_feature_matching():
    d = VideoDiscriminator(VideoModelConfig(d_width=4)).eval()  # eval: spectral norm's power step stays put
    clip = context(2, 5)
    frames = torch.tensor([[3, 4], [4, 3]])
    for head, n in (("image", 4), ("video", 2)):
        logits, maps = d(clip, frames, head=head, features=True)
        assert torch.equal(logits, d(clip, frames, head=head))  # the same logits as without features
        assert logits.shape == (n,) and len(maps) == 4  # one activation per (conv, LeakyReLU) layer
        assert all(m.shape[0] == n for m in maps)
    with pytest.raises(ValueError, match="one head"):
        d(clip, frames, features=True)


@pytest.mark.parametrize("recon", ["l1", "mse", "l1+mse"])
def test_feature_matching_and_the_reconstruction_kind_reach_the_generator(tmp_path, recon):
    from pathlib import Path

    from multigan.core.config import load_config
    from multigan.video.adapter import VideoAdapter
    from multigan.video.config import VideoConfig

    tiny = Path(__file__).resolve().parents[2] / "recipes" / "tiny" / "video.yaml"
    overrides = [f"out_dir={tmp_path / 'run'}", f"data.cache_dir={tmp_path}", f"loss.recon={recon}"]
    adapter = VideoAdapter(load_config(VideoConfig, tiny, [*overrides, "loss.feature_weight=10"]))
    nets = adapter.build_models()
    ds = adapter.dataset()
    batch = adapter.to_device(adapter.collate([ds[i] for i in range(4)]), torch.device("cpu"))
    out = adapter.generator_loss(nets.G, nets.D, batch)
    assert {f"g_{kind}" for kind in recon.split("+")} | {"g_image_features", "g_video_features"} <= set(out.logs)
    assert all(float(out.logs[k]) > 0 for k in ("g_image_features", "g_video_features"))
    out.loss.backward()
    assert all(p.grad is not None and p.grad.isfinite().all() for p in nets.G.parameters())
    # Without the term, G's loss is smaller by exactly the weighted feature distances (D in eval
    # mode: in training mode spectral norm's power step changes D at every call).
    nets.D.eval()
    plain = VideoAdapter(load_config(VideoConfig, tiny, overrides))
    torch.manual_seed(0)
    with_features = adapter.generator_loss(nets.G, nets.D, batch)
    torch.manual_seed(0)
    without = plain.generator_loss(nets.G, nets.D, batch)
    extra = 10 * (with_features.logs["g_image_features"] + with_features.logs["g_video_features"])
    assert torch.allclose(with_features.loss - without.loss, extra, atol=1e-4)


# -- the SimVP-style core (model.core=simvp): K frames in, `predict` frames per translator pass

SIMVP = dict(core="simvp", g_width=4, hidden=8, blocks=2, z_clip=2, z_frame=2)


@pytest.mark.parametrize("warp_on", [True, False])
@pytest.mark.parametrize("k, n", [(1, 1), (3, 2), (3, 7), (5, 4)])  # fewer, as many and more seed frames than 3
def test_simvp_core_reads_any_number_of_seed_frames_and_rolls_past_its_pass(k, n, warp_on):
    g = VideoGenerator(VideoModelConfig(warp=warp_on, **SIMVP), channels=3, context=3, pass_frames=2)
    out = g(context(2, k, 3, 16, 24), n)
    assert out.shape == (2, n, 3, 16, 24)
    assert out.isfinite().all() and out.abs().max() <= 1


def test_simvp_core_longer_rollouts_start_with_the_shorter_one_and_noise_is_reproducible():
    g = VideoGenerator(VideoModelConfig(**SIMVP), context=3, pass_frames=2)
    ctx = context(k=3)
    short = g(ctx, 3, generator=torch.Generator().manual_seed(1))
    long = g(ctx, 9, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(long[:, :3], short, atol=1e-6)
    other = g(ctx, 3, generator=torch.Generator().manual_seed(2))
    assert not torch.allclose(other, short)


def test_simvp_core_later_passes_read_the_generated_frames():
    g = VideoGenerator(VideoModelConfig(warp=False, **SIMVP), context=3, pass_frames=2)
    ctx = context(k=3)
    first = g(ctx, 4, generator=torch.Generator().manual_seed(0))
    # The second pass (frames 2, 3) reads seed frame 2 and the generated frames 0, 1: shifting the
    # window by hand and running one pass from it with the second pass's noise gives the same frames.
    gen = torch.Generator().manual_seed(0)
    torch.randn(2, 2, generator=gen)  # z_clip
    torch.randn(2, 4, 4, 4, generator=gen)  # the first pass's z_frame
    window = torch.cat([ctx[:, 2:], first[:, :2]], 1)
    z_clip = torch.randn(2, 2, generator=torch.Generator().manual_seed(0))
    z = torch.cat([z_clip[:, :, None, None].expand(-1, -1, 4, 4), torch.randn(2, 4, 4, 4, generator=gen)], 1)
    assert g.simvp is not None
    raw = g.simvp(g._encoder_input(window), z, None, None)
    assert torch.allclose(torch.tanh(raw), first[:, 2:], atol=1e-5)


def test_simvp_core_starts_close_to_copying_the_last_frame_and_learns_through_the_discriminator():
    g = VideoGenerator(VideoModelConfig(**SIMVP), context=3, pass_frames=2)
    ctx = context(k=3)
    out = g(ctx, 4)
    assert (out - ctx[:, -1:]).abs().mean() < 0.05
    d = VideoDiscriminator(VideoModelConfig(d_width=4))
    logits = d(torch.cat([ctx, out], 1), torch.tensor([[3, 4], [5, 6]]))
    (logits["image"].mean() + logits["video"].mean()).backward()
    assert g.simvp is not None
    assert all(p.grad is not None and p.grad.isfinite().all() for p in g.simvp.parameters())
    with pytest.raises(ConfigError, match="model.core"):
        VideoModelConfig(core="lstm")


def test_simvp_core_draws_clips_from_captions_alone():
    from multigan.core.conditioning import CaptionTokens

    cfg = VideoModelConfig(keywords=True, cond_dim=8, **SIMVP)
    g = VideoGenerator(cfg, channels=1, vocab_size=12, frame_size=16, context=3, pass_frames=2)
    ids = torch.tensor([[3, 4, 5], [6, 7, 0]])
    caption = CaptionTokens(ids, ids > 0, torch.ones(2, dtype=torch.bool))
    clips = g.from_caption(caption, 5, generator=torch.Generator().manual_seed(0))
    assert clips.shape == (2, 5, 1, 16, 16) and clips.isfinite().all()
    continued = g(context(k=3), 3, caption=caption)
    assert continued.shape == (2, 3, 1, 16, 16)


@pytest.mark.parametrize("core", ["gru", "simvp"])
def test_coords_let_the_generator_tell_where_it_is_on_a_blank_frame(core):
    """Without model.coords a blank frame gives the same features everywhere off the borders (a
    conv net sees the walls only through its padding); with it they vary across the frame, so the
    net can tell how far a wall is. Each core keeps its shapes and its copy-last start."""
    from multigan.video.models import FrameEncoder, _encoder_conv

    torch.manual_seed(0)
    blank = -torch.ones(1, 1, 32, 32)
    for coords in (False, True):
        conv = _encoder_conv(coords)(1, 4)
        inner = conv(blank)[0, :, 4:-4, 4:-4]
        spread = (inner - inner.mean((1, 2), keepdim=True)).abs().max().item()
        assert (spread > 1e-3) == coords, (coords, spread)
    encoder = FrameEncoder(1, 4, 8, coords=True)
    assert [f.shape[-1] for f in encoder(blank)] == [32, 16, 8, 4]
    G = VideoGenerator(VideoModelConfig(core=core, g_width=4, hidden=8, blocks=1, coords=True), 1, pass_frames=2)
    context = torch.rand(2, 3, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        out = G(context, 3)
    assert out.shape == (2, 3, 1, 32, 32)
    assert (out[:, 0] - context[:, -1]).abs().mean() < 0.1  # starts close to copying the last frame
