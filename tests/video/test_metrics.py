"""multigan.metrics.video against values worked out by hand."""

import math

import pytest
import torch

from multigan.metrics.video import (
    baselines,
    best_of_n,
    frame_mse,
    gaussian_window,
    grad_ratio,
    mae,
    mse,
    per_frame,
    psnr,
    sharpness,
    ssim,
    summarize,
)


def video(b=2, t=3, c=1, h=16, w=16, seed=0):
    return torch.rand(b, t, c, h, w, generator=torch.Generator().manual_seed(seed))


def test_constant_offset_gives_known_mse_mae_psnr():
    x = video(c=3).clamp(0, 0.8)
    y = x + 0.1
    assert torch.allclose(mse(y, x), torch.full((2, 3), 0.01, dtype=torch.float64))
    assert torch.allclose(frame_mse(y, x), torch.full((2, 3), 0.01 * 3 * 16 * 16, dtype=torch.float64))
    assert torch.allclose(mae(y, x), torch.full((2, 3), 0.1, dtype=torch.float64))
    assert torch.allclose(psnr(y, x), torch.full((2, 3), 20.0, dtype=torch.float64))


def test_psnr_of_identical_frames_is_capped_not_infinite():
    x = video()
    assert torch.equal(psnr(x, x), torch.full((2, 3), 100.0, dtype=torch.float64))


def test_ssim_of_a_video_with_itself_is_one():
    x = video(c=3)
    assert torch.allclose(ssim(x, x), torch.ones(2, 3, dtype=torch.float64))


def test_ssim_of_two_flat_frames_is_the_luminance_term():
    a, b = 0.5, 0.25
    x, y = torch.full((1, 1, 1, 12, 12), a), torch.full((1, 1, 1, 12, 12), b)
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)  # variances and covariance are 0
    assert ssim(x, y).item() == pytest.approx(expected, rel=1e-9)


def test_ssim_on_one_window_matches_the_formula_by_hand():
    # An 11x11 frame holds exactly one window: weighted statistics over the whole frame.
    x, y = video(1, 1, 1, 11, 11, seed=1), video(1, 1, 1, 11, 11, seed=2)
    g = gaussian_window(11, 1.5)
    wgt = torch.outer(g, g)
    xs, ys = x[0, 0, 0].double(), y[0, 0, 0].double()
    mx, my = (wgt * xs).sum(), (wgt * ys).sum()
    vx = (wgt * xs * xs).sum() - mx**2
    vy = (wgt * ys * ys).sum() - my**2
    cov = (wgt * xs * ys).sum() - mx * my
    c1, c2 = 0.01**2, 0.03**2
    expected = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert ssim(x, y).item() == pytest.approx(expected.item(), rel=1e-9)
    assert gaussian_window().sum().item() == pytest.approx(1.0)
    assert gaussian_window()[5] / gaussian_window()[4] == pytest.approx(math.exp(1 / (2 * 1.5**2)))


def test_ssim_is_symmetric_and_falls_with_noise():
    x = video(seed=3)
    noisy = (x + 0.2 * video(seed=4)).clamp(0, 1)
    noisier = (x + 0.6 * video(seed=4)).clamp(0, 1)
    assert torch.allclose(ssim(x, noisy), ssim(noisy, x))
    assert (ssim(noisier, x) < ssim(noisy, x)).all() and (ssim(noisy, x) < 1).all()


def test_ssim_works_on_frames_smaller_than_the_window():
    x = video(1, 2, 1, 8, 8)
    assert torch.allclose(ssim(x, x), torch.ones(1, 2, dtype=torch.float64))


def test_sharpness_prefers_sharp_over_blurred_predictions():
    x = video(1, 2, 1, 16, 16, seed=5)
    blurred = torch.nn.functional.avg_pool2d(x.flatten(0, 1), 3, 1, 1).view_as(x)
    assert sharpness(x, x).eq(100).all()
    assert (sharpness(blurred, x) < sharpness(x * 0.95, x)).all()
    assert torch.allclose(grad_ratio(x, x), torch.ones(1, 2, dtype=torch.float64))
    assert (grad_ratio(blurred, x) < 0.8).all()
    assert grad_ratio(torch.full_like(x, 0.5), x).eq(0).all()


def test_best_of_n_picks_per_video_and_per_metric():
    target = video(2, 3)
    good_for_0 = target.clone()
    good_for_0[1] = 1 - target[1]
    good_for_1 = target.clone()
    good_for_1[0] = 1 - target[0]
    samples = torch.stack([good_for_0, good_for_1, torch.rand_like(target)])
    best = best_of_n(samples, target, names=("mse", "psnr", "ssim"))
    assert torch.equal(best["mse"], torch.zeros(2, 3, dtype=torch.float64))
    assert torch.equal(best["psnr"], torch.full((2, 3), 100.0, dtype=torch.float64))
    assert torch.allclose(best["ssim"], torch.ones(2, 3, dtype=torch.float64))


def test_summarize_gives_per_step_curves_and_their_mean():
    values = {"mse": torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])}
    assert summarize(values) == {"mse": {"per_step": [2.0, 3.0, 4.0], "mean": 3.0}}
    x = video()
    assert set(per_frame(x, x)) == {"frame_mse", "mse", "mae", "psnr", "ssim"}


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r"\(b, t, c, h, w\)"):
        mse(torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="samples"):
        best_of_n(video(), video())


def test_baselines_repeat_the_last_frame_and_the_background():
    context = torch.rand(2, 4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    reference = baselines(context, 3)
    assert reference["copy_last"].shape == reference["blank"].shape == (2, 3, 1, 8, 8)
    assert torch.equal(reference["copy_last"][:, 2], context[:, -1])
    assert torch.equal(reference["blank"][:, 0], context.amin(1))
