import pytest
import torch

from multigan.core.errors import MultiganError
from multigan.metrics.image import class_coverage, frechet_distance, kernel_inception_distance


def test_frechet_distance_of_known_gaussians():
    # Same covariance (identity), means 3 apart in one coordinate: FD = 9 (up to sampling noise).
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 3, generator=g, dtype=torch.float64)
    y = torch.randn(20000, 3, generator=g, dtype=torch.float64) + torch.tensor([3.0, 0, 0], dtype=torch.float64)
    assert frechet_distance(x, y) == pytest.approx(9.0, abs=0.1)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_scaled_covariance():
    # N(0, I) vs N(0, 4I) in d dims: Tr(I + 4I - 2*2I) = d.
    g = torch.Generator().manual_seed(1)
    x = torch.randn(50000, 2, generator=g, dtype=torch.float64)
    y = 2 * torch.randn(50000, 2, generator=g, dtype=torch.float64)
    assert frechet_distance(x, y) == pytest.approx(2.0, abs=0.1)


def test_frechet_distance_refuses_one_sample_and_nan():
    x = torch.randn(50, 4)
    with pytest.raises(MultiganError, match="at least 2 samples"):
        frechet_distance(x, x[:1])
    with pytest.raises(MultiganError, match="not finite"):
        frechet_distance(x, torch.full((5, 4), float("nan")))


def test_kid_near_zero_for_one_distribution_and_positive_otherwise():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(500, 4, generator=g), torch.randn(500, 4, generator=g)
    same, _ = kernel_inception_distance(x, y, subsets=10, subset_size=200)
    apart, _ = kernel_inception_distance(x, y + 2, subsets=10, subset_size=200)
    assert abs(same) < 0.05 < apart


def test_class_coverage():
    present, kl = class_coverage(torch.arange(100) % 10, 10)
    assert present == 10 and kl == pytest.approx(0.0, abs=1e-12)
    present, kl = class_coverage(torch.zeros(100, dtype=torch.long), 10)
    assert present == 1 and kl == pytest.approx(torch.log(torch.tensor(10.0)).item())
