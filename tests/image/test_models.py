import pytest
import torch

from multigan.image.augment import diff_augment
from multigan.image.models import Discriminator, Generator


@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_shapes(size):
    G = Generator(size, 3, z_dim=8, width=4)
    D = Discriminator(size, 3, width=4)
    x = G(torch.randn(2, 8))
    assert x.shape == (2, 3, size, size) and x.abs().max() <= 1
    assert D(x).shape == (2,)


@pytest.mark.parametrize("size", [8, 24, 256])
def test_bad_size(size):
    with pytest.raises(ValueError, match="power of two"):
        Generator(size)


def test_conditional_projection_depends_on_label():
    G = Generator(16, 1, z_dim=8, width=4, num_classes=3)
    D = Discriminator(16, 1, width=4, num_classes=3)
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
