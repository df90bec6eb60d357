import math

import pytest
import torch

from multigan.core.config import LossConfig
from multigan.core.losses import (
    discriminator_loss,
    discriminator_objective,
    generator_loss,
    gradient_penalty,
    r1_penalty,
)

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_nonsaturating_values():
    expected = (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3)) / 2
    assert discriminator_loss("nonsaturating", REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)
    assert generator_loss("nonsaturating", FAKE).item() == pytest.approx((softplus(-0.5) + softplus(3)) / 2, rel=1e-6)


def test_hinge_values():
    # relu(1 - [2, -1]) = [0, 2]; relu(1 + [0.5, -3]) = [1.5, 0]
    assert discriminator_loss("hinge", REAL, FAKE).item() == pytest.approx(1.0 + 0.75)
    assert generator_loss("hinge", FAKE).item() == pytest.approx(1.25)


def test_lsgan_values():
    # 0.5 * mean([1, 4]) + 0.5 * mean([0.25, 9])
    assert discriminator_loss("lsgan", REAL, FAKE).item() == pytest.approx(1.25 + 2.3125)
    # 0.5 * mean([0.25, 16])
    assert generator_loss("lsgan", FAKE).item() == pytest.approx(4.0625)


def test_wgan_values():
    assert discriminator_loss("wgan-gp", REAL, FAKE).item() == pytest.approx(-1.25 - 0.5)
    assert generator_loss("wgan-gp", FAKE).item() == pytest.approx(1.25)


def test_unknown_kind():
    with pytest.raises(ValueError):
        discriminator_loss("nope", REAL, FAKE)


def test_r1_on_a_known_function():
    # D(x) = sum(a * x^2) per sample: grad = 2 a x, so ||grad||^2 = sum(4 a^2 x^2).
    a = torch.tensor([1.0, -2.0, 0.5])
    x = torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 2.0]], requires_grad=True)
    logits = (a * x**2).sum(1)
    expected = ((4 * a**2 * x.detach() ** 2).sum(1)).mean()
    assert r1_penalty(logits, x).item() == pytest.approx(expected.item())


def test_gradient_penalty_of_linear_critic():
    # D(x) = w . x has gradient w everywhere: penalty (||w|| - 1)^2 = (5 - 1)^2.
    w = torch.tensor([3.0, 4.0])
    gp = gradient_penalty(lambda x: x @ w, torch.randn(6, 2), torch.randn(6, 2))
    assert gp.item() == pytest.approx(16.0)


def test_lazy_r1_is_scaled_by_interval_and_only_when_asked():
    cfg = LossConfig(kind="nonsaturating", r1_gamma=2.0, r1_every=4)
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    d_fn = lambda x: x @ w
    real, fake = torch.ones(3, 2), torch.zeros(3, 2)
    plain = discriminator_objective(cfg, d_fn, real, fake, regularize=False)
    lazy = discriminator_objective(cfg, d_fn, real, fake, regularize=True)
    # ||grad||^2 = ||w||^2 = 5; added term 0.5 * gamma * interval * 5 = 20
    assert "d_r1" not in plain.logs and lazy.logs["d_r1"].item() == pytest.approx(5.0)
    assert (lazy.loss - plain.loss).item() == pytest.approx(20.0)
    lazy.loss.backward()
    assert w.grad is not None and torch.isfinite(w.grad).all()
