"""The translate recipe end to end: tiny runs of every mode, generate on a real photo and on folders,
the blend strip, reference-guided style, resume, and users' own folders."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import multigan
from multigan.core.config import load_config
from multigan.core.errors import ConfigError
from multigan.core.trainer import Trainer
from multigan.recipes import translate
from multigan.translate.adapter import TranslateAdapter
from multigan.translate.config import TranslateConfig
from multigan.translate.data import digits_m

TINY = Path(__file__).resolve().parents[2] / "recipes" / "tiny" / "translate.yaml"
MODES = {
    "unpaired": [],
    "paired": ["mode=paired"],
    "reference": ["mode=reference"],
    "cut": ["loss.nce_weight=1", "loss.cycle_weight=0"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("translate")
    for name, overrides in MODES.items():
        assert translate.main(["--config", str(TINY), f"out_dir={root / name}", *overrides]) == 0
    return root


@pytest.fixture(scope="module")
def digits():
    """Held-out digits (domain A) and digits-M (domain B) at the tiny runs' 16 px, uint8 (8, 3, 16, 16)."""
    data = digits_m(16)
    return data.test_a[:8], data.test_b[:8]


def test_every_mode_trains_samples_and_scores_against_baselines(runs):
    for name in MODES:
        run = runs / name
        report = json.loads((run / "evaluation.json").read_text())
        directions = ["a2b"] if name == "cut" else ["a2b", "b2a"]
        assert list(report["rows"]) == directions, name
        translated = "reference-guided" if name == "reference" else "translation"
        for direction in directions:
            rows = report["rows"][direction]
            assert list(rows) == [translated, "identity map", "random target"]
            for scores in rows.values():
                assert 0 <= scores["labels_kept"] <= 1 and np.isfinite(scores["FID"])
                assert -1 <= scores["SSIM"] <= 1 and scores["PSNR"] > 0  # the embedded data has its paired truth
            assert rows["identity map"]["SSIM"] < 1  # a baseline, not the truth itself
        if name == "reference":
            assert all("style_error" in s for s in report["rows"]["a2b"].values())
        assert report["protocol"]["checkpoint"].endswith("step_00000006")  # the final step, not a best one
        assert report["protocol"]["mode"] == ("unpaired" if name == "cut" else name)
        grid = sorted((run / "samples").glob("step_*.png"))[-1]
        width, height = Image.open(grid).size
        assert width == 4 * 18 + 2  # num_samples=4 images of 16 px, 2 px of padding


def test_translate_a_real_photo_keeps_its_aspect(runs, tmp_path):
    from sklearn.datasets import load_sample_image

    photo = tmp_path / "china.jpg"
    Image.fromarray(load_sample_image("china.jpg")).save(photo)  # 640 x 427: a photo the tests did not make
    out = tmp_path / "out.png"
    assert translate.main(["generate", "--run", str(runs / "unpaired"), "--input", str(photo), "--out", str(out)]) == 0
    result = np.asarray(Image.open(out))
    assert result.shape == (16, 24, 3)  # short side 16 (the run's size), 640/427*16 = 24
    assert result.std() > 0
    model = multigan.load(runs / "unpaired")
    big = torch.from_numpy(load_sample_image("flower.jpg")[:200, :300].copy()).permute(2, 0, 1).unsqueeze(0)
    assert model.translate(big).shape == (1, 3, 200, 300)  # fully convolutional: any size that divides by 4


def test_a_folder_is_translated_file_by_file_and_bad_files_are_counted(runs, tmp_path, capsys):
    source = tmp_path / "photos"
    (source / "nested").mkdir(parents=True)
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(source / "one.jpg")
    Image.fromarray(np.full((32, 32), 200, np.uint8)).save(source / "nested" / "two.png")
    (source / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "translated"
    assert translate.main(["generate", "--run", str(runs / "unpaired"), "--input", str(source), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["nested/two.png", "one.png"]
    assert captured.err.strip().splitlines() == [
        f"warning: skipped {source / 'broken.png'}: not an image Pillow can decode"
    ]
    assert "wrote 2 image(s)" in captured.out and "1 could not be read" in captured.out
    assert Image.open(out / "one.png").size == (24, 16)


def test_the_blend_strip_runs_from_the_reconstruction_to_the_translation(runs, digits, tmp_path):
    model = multigan.load(runs / "unpaired")
    source, _ = digits
    strip = model.translate(source, blend=[0.0, 0.5, 1.0])
    assert strip.shape == (8, 3, 3, 16, 16)
    with torch.no_grad():
        reconstruction = model.G(source.float() / 127.5 - 1, model.G.domain_code(0, 8))
    assert torch.equal(strip[:, 0], reconstruction.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8))
    assert torch.equal(strip[:, 2], model.translate(source))
    assert not torch.equal(strip[:, 1], strip[:, 0]) and not torch.equal(strip[:, 1], strip[:, 2])
    assert torch.equal(model.translate(source, blend=0.5), strip[:, 1])
    back = model.translate(digits[1], direction="b2a", blend=[0.0, 1.0])
    assert torch.equal(back[:, 1], model.translate(digits[1], direction="b2a"))
    # the CLI writes the source followed by the strip
    Image.fromarray(source[0].permute(1, 2, 0).numpy()).save(tmp_path / "digit.png")
    out = tmp_path / "strip.png"
    args = ["generate", "--run", str(runs / "unpaired"), "--input", str(tmp_path / "digit.png"), "--out", str(out)]
    assert translate.main([*args, "--blend", "0", "0.25", "0.5", "0.75", "1"]) == 0
    assert Image.open(out).size == (6 * 18 + 2, 16 + 4)


def test_reference_guided_runs_need_a_reference_and_others_refuse_one(runs, digits):
    model = multigan.load(runs / "reference")
    source, references = digits
    assert model.translate(source, style=references[:1]).shape == (8, 3, 16, 16)
    assert model.translate(source, style=references).shape == (8, 3, 16, 16)  # one reference per image
    with pytest.raises(ConfigError, match="give a reference image"):
        model.translate(source)
    with pytest.raises(ConfigError, match="1 reference or one per image"):
        model.translate(source, style=references[:3])
    with pytest.raises(ConfigError, match="reference-guided run"):
        multigan.load(runs / "unpaired").translate(source, style=references[:1])


def test_cut_learns_one_direction_and_says_so(runs, digits):
    model = multigan.load(runs / "cut")
    assert model.translate(digits[0]).shape == (8, 3, 16, 16)
    with pytest.raises(ConfigError, match="learned a2b only"):
        model.translate(digits[1], direction="b2a")
    with pytest.raises(ConfigError, match="two-sided run"):
        model.translate(digits[0], blend=0.5)


def test_an_export_translates_like_its_run(runs, digits, tmp_path):
    for name in ("unpaired", "reference"):
        model = multigan.load(runs / name)
        exported = multigan.load(model.save_pretrained(tmp_path / name))
        style = digits[1][:1] if name == "reference" else None
        assert torch.equal(exported.translate(digits[0], style=style), model.translate(digits[0], style=style))


@pytest.mark.parametrize("mode", ["unpaired", "cut"])
def test_resume_gives_the_same_weights_as_never_stopping(tmp_path, mode):
    overrides = ["data.flip=true", *MODES[mode]]  # flips and PatchNCE's patches both draw from the saved RNG

    def train(out: Path, steps: int) -> dict[str, torch.Tensor]:
        cfg = load_config(TranslateConfig, TINY, [f"out_dir={out}", f"train.steps={steps}", *overrides])
        trainer = Trainer(TranslateAdapter(cfg), cfg, echo=lambda _: None)
        trainer.fit()
        return {k: v.clone() for k, v in trainer.G.state_dict().items()}

    straight = train(tmp_path / "straight", 6)
    train(tmp_path / "stopped", 3)
    resumed = train(tmp_path / "stopped", 6)
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def _folder(root: Path, names: list[str], colour: int, size: tuple[int, int] = (24, 20)) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.full((*size, 3), colour, np.uint8)).save(root / name)


def test_own_folders_train_paired_and_unpaired(tmp_path, capsys):
    paired = tmp_path / "paired"
    _folder(paired / "A", [f"{i}.png" for i in range(6)] + ["only_in_a.png"], 30)
    _folder(paired / "B", [f"{i}.png" for i in range(6)], 220, size=(40, 60))
    base = ["--config", str(TINY), "train.steps=2"]
    assert translate.main([*base, "mode=paired", f"data.path={paired}", f"out_dir={tmp_path / 'p'}"]) == 0
    captured = capsys.readouterr()
    assert "have no partner of the same name" in captured.err
    report = json.loads((tmp_path / "p" / "evaluation.json").read_text())
    assert list(report["rows"]["a2b"]["translation"]) == ["SSIM", "PSNR"]  # one held-out pair: no FID, no labels
    _folder(tmp_path / "x", [f"{i}.jpg" for i in range(5)], 60)
    _folder(tmp_path / "y", [f"{i}.png" for i in range(9)], 160, size=(50, 30))
    args = [*base, f"data.path_a={tmp_path / 'x'}", f"data.path_b={tmp_path / 'y'}", f"out_dir={tmp_path / 'u'}"]
    assert translate.main([*args, "data.heldout=0.4"]) == 0
    report = json.loads((tmp_path / "u" / "evaluation.json").read_text())
    # no labels, no truth, and no meaningful FID without Inception features: nothing, and a line saying why
    assert report["rows"]["a2b"]["translation"] == {} and report["protocol"]["held_out_images"] == {"a": 2, "b": 4}
    assert "metrics extra" in report["protocol"]["fid_features"]
    assert "FID: none: the toolkit's digit features mean nothing" in capsys.readouterr().out


@pytest.mark.slow
def test_a_trained_reference_guided_toy_follows_the_reference_and_keeps_the_digit(tmp_path):
    from multigan.metrics.translate import domain_classifier, labels_kept, style_error

    overrides = ["mode=reference", f"out_dir={tmp_path / 'ref'}", "train.steps=300", "train.batch_size=8"]
    assert translate.main(["--config", str(TINY), *overrides]) == 0
    model = multigan.load(tmp_path / "ref")
    data = digits_m(16)
    source, references = data.test_a[:120], data.test_b[:120]
    others = references.roll(7, dims=0)  # other digits' colour patches
    styled, restyled = model.translate(source, style=references), model.translate(source, style=others)
    assert (styled.float() - restyled.float()).abs().mean() > 2  # the output changes with the reference

    def unit(x):
        return x.float() / 127.5 - 1

    # each output is closer in colour and texture to the reference it was given than to another one
    assert style_error(unit(styled), unit(references)) < style_error(unit(styled), unit(others))
    classifier = domain_classifier(data.train_b, data.labels_train_b)
    assert labels_kept(classifier, unit(styled), data.labels_test[:120]) > 0.6  # chance is 0.1
