import pytest
import torch

from multigan.core.config import load_config
from multigan.core.errors import ConfigError
from multigan.image.augment import diff_augment
from multigan.image.config import ImageConfig
from multigan.image.models import Discriminator, Generator


def _cfg(*overrides: str) -> ImageConfig:
    return load_config(ImageConfig, None, ["model.z_dim=8", "model.g_width=4", "model.d_width=4", *overrides])


@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_shapes(size):
    cfg = _cfg(f"data.size={size}", "data.channels=3")
    G, D = Generator(cfg), Discriminator(cfg)
    x = G(torch.randn(2, 8))
    assert x.shape == (2, 3, size, size) and x.abs().max() <= 1
    assert D(x).shape == (2,)


@pytest.mark.parametrize("size", [8, 24, 256])
def test_bad_size(size):
    with pytest.raises(ConfigError, match="power of two"):
        _cfg(f"data.size={size}")


def test_networks_need_resolved_channels():
    with pytest.raises(ValueError, match="resolved"):
        Generator(_cfg())  # data.channels=0 (auto): the adapter resolves it from the data


def test_conditional_projection_depends_on_label():
    cfg = _cfg("data.size=16", "data.channels=1", "model.conditional=true", "model.num_classes=3")
    G, D = Generator(cfg), Discriminator(cfg)
    z = torch.randn(2, 8)
    x = G(z, torch.tensor([0, 0]))
    assert not torch.equal(x, G(z, torch.tensor([1, 1])))
    assert not torch.equal(D(x, torch.tensor([0, 0])), D(x, torch.tensor([2, 2])))
    with pytest.raises(ValueError, match="labels"):
        G(z)


def test_diffaugment_shapes_gradients_and_identity():
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x, "color,translation,cutout")
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None
    assert torch.equal(diff_augment(x, ""), x)
    with pytest.raises(ValueError, match="unknown policy"):
        diff_augment(x, "rotate")


def test_cutout_zeroes_half_the_side():
    y = diff_augment(torch.ones(8, 1, 16, 16), "cutout")
    assert torch.all((y == 0).flatten(1).sum(1) > 0)
