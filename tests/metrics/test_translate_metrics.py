"""multigan.metrics.translate: exact values for the pure functions, properties for the trained classifier."""

import json
import math

import pytest
import torch
from torch import nn

from multigan.core.data import cache_dir
from multigan.core.digits import digit_images
from multigan.metrics import video
from multigan.metrics.translate import (
    DigitClassifier,
    TranslationReport,
    domain_classifier,
    domain_fid,
    image_psnr,
    image_ssim,
    labels_kept,
    style_error,
    style_statistics,
)

TRAIN = 1437  # the first 1437 embedded digits train, the last 360 are held out


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] values -> [-1, 1]."""
    return x * 2 - 1


@pytest.fixture(scope="module")
def digits():
    x, y = digit_images(16)
    return x.repeat(1, 3, 1, 1), y


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    """The classifier trained on the training digits (150 steps), with the cache folder it was written to."""
    folder = tmp_path_factory.mktemp("cache")
    x, y = digits
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MULTIGAN_CACHE", str(folder))
        before = torch.random.get_rng_state()
        model = domain_classifier(x[:TRAIN], y[:TRAIN], steps=150)
        after = torch.random.get_rng_state()
    return model, folder, torch.equal(before, after)


def test_style_statistics_of_a_known_image():
    r = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    g = torch.full((2, 2), 0.5)
    b = torch.tensor([[0.0, 0.5], [0.25, 0.75]])
    stats = style_statistics(to_signed(torch.stack([r, g, b]))[None])
    # means; population stds (b: deviations -3/8, 1/8, -1/8, 3/8); mean |neighbour difference| over
    # the 2 horizontal and 2 vertical pairs (b: 1/2, 1/2, 1/4, 1/4)
    expected = [0.5, 0.5, 0.375, 0.5, 0.0, math.sqrt(0.078125), 1.0, 0.0, 0.375]
    assert stats.shape == (1, 9) and stats.dtype == torch.float64
    assert stats[0].tolist() == pytest.approx(expected, abs=1e-12)


def test_style_error():
    x = to_signed(torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)))
    assert style_error(x, x) == 0.0
    dark, light = torch.full((2, 3, 4, 4), -0.5), torch.full((2, 3, 4, 4), 0.5)  # 0.25 and 0.75 on [0, 1]
    assert style_error(dark, light) == pytest.approx(3 * 0.5 / 9)  # only the 3 means differ, by 0.5
    assert style_error(dark, torch.stack([light[0], dark[1]])) == pytest.approx(3 * 0.5 / 9 / 2)


def test_image_ssim_and_psnr():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(70, 3, 16, 16, generator=g, dtype=torch.float64) * 1.6 - 0.8  # more than one internal batch of 64
    y = (x + 0.3 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    assert image_ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    assert image_psnr(x, x) == video.PSNR_CAP
    # +0.1 on [-1, 1] is +0.05 on [0, 1]: MSE 0.0025, PSNR 10 log10(400)
    assert image_psnr(x + 0.1, x) == pytest.approx(10 * math.log10(400), abs=1e-9)
    clip = lambda z: ((z + 1) / 2).unsqueeze(1)
    assert image_ssim(y, x) == pytest.approx(float(video.ssim(clip(y), clip(x)).mean()), abs=1e-12)
    assert image_psnr(y, x) == pytest.approx(float(video.psnr(clip(y), clip(x)).mean()), abs=1e-9)
    assert 0 < image_ssim(y, x) < 1


def test_domain_classifier_learns_is_cached_and_leaves_the_rng_alone(digits, trained, monkeypatch):
    model, folder, rng_untouched = trained
    x, y = digits
    held_out = to_signed(x[TRAIN:].float() / 255)
    assert rng_untouched
    assert not model.training
    assert labels_kept(model, held_out, y[TRAIN:]) > 0.85
    (cached,) = folder.glob("domain_classifier_*.safetensors")
    assert not list(folder.glob("*.tmp"))
    monkeypatch.setenv("MULTIGAN_CACHE", str(folder))
    before = torch.random.get_rng_state()
    again = domain_classifier(x[:TRAIN], y[:TRAIN], steps=150)
    assert torch.equal(before, torch.random.get_rng_state())
    assert list(folder.iterdir()) == [cached]
    with torch.no_grad():
        assert torch.equal(again(held_out), model(held_out))
        assert again.features(held_out).shape == (held_out.shape[0], 128)


def test_domain_classifier_is_deterministic_and_keyed_by_its_inputs(digits, tmp_path, monkeypatch):
    monkeypatch.setenv("MULTIGAN_CACHE", str(tmp_path))
    x, y = digits[0][:100], digits[1][:100]
    first = domain_classifier(x, y, steps=3)
    (path,) = cache_dir().iterdir()
    path.unlink()
    second = domain_classifier(x, y, steps=3)
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    domain_classifier(x, y, steps=3, seed=1)
    domain_classifier(x, (y + 1) % 10, steps=3)
    domain_classifier(255 - x, y, steps=3)
    assert len(list(cache_dir().iterdir())) == 4


def test_domain_classifier_rejects_bad_input():
    from multigan.core.errors import MultiganError

    with pytest.raises(MultiganError, match="uint8"):
        domain_classifier(torch.zeros(4, 3, 8, 8), torch.zeros(4, dtype=torch.long))
    with pytest.raises(MultiganError, match="one label"):
        domain_classifier(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.zeros(3, dtype=torch.long))


class FixedLogits(nn.Module):
    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.logits[: images.shape[0]]


def test_labels_kept_on_fixed_logits():
    logits = torch.tensor([[3.0, 0, 0], [0, 0, 1], [0, 2, 0], [0, 0, 5], [1, 0, 0]])  # predicts 0, 2, 1, 2, 0
    images = torch.zeros(5, 3, 8, 8)
    assert labels_kept(FixedLogits(logits), images, torch.tensor([0, 2, 2, 1, 0])) == pytest.approx(3 / 5)
    assert labels_kept(FixedLogits(logits), images, torch.tensor([0, 2, 1, 2, 0])) == 1.0


def test_domain_fid(digits, trained):
    model = trained[0]
    x = to_signed(digits[0].float() / 255)
    a, b = x[:TRAIN:2], x[1:TRAIN:2]
    tinted = (b * torch.tensor([1.0, 0.5, 0.2]).view(1, 3, 1, 1) + 0.3).clamp(-1, 1)
    same = domain_fid(model, a, b)
    assert abs(domain_fid(model, a, a)) < 1e-6 * same
    assert domain_fid(model, a, tinted, device="cpu") > 2 * same
    assert isinstance(model, DigitClassifier)


def test_translation_report_lines_and_save(tmp_path):
    rows = {
        "a2b": {"translation": {"FID": 12.3456, "SSIM": 0.81234}, "identity map": {"FID": 100.0, "SSIM": 1.0}},
        "b2a": {"translation": {"FID": 3.0}},
    }
    report = TranslationReport(rows=rows, protocol={"n_images": 360, "seed": 0, "classifier_steps": 600, "step": 5})
    assert report.lines() == [
        "a2b  translation   FID=12.35  SSIM=0.8123",
        "a2b  identity map  FID=100    SSIM=1",
        "b2a  translation   FID=3",
    ]
    path = tmp_path / "evaluation.json"
    report.save(path)
    assert json.loads(path.read_text()) == {"rows": rows, "protocol": report.protocol}
    assert path.read_text().startswith('{\n  "rows"')
    assert TranslationReport.load(path) == report
