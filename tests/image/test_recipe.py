"""The image recipe end to end, as a user runs it (tiny sizes)."""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from multigan.core.checkpoint import checkpoint_dirs
from multigan.image import evaluate as image_evaluate
from multigan.recipes import image as recipe

TINY = Path(__file__).resolve().parents[2] / "recipes" / "tiny" / "image.yaml"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert recipe.main(["--config", str(TINY), f"out_dir={out}", "model.conditional=true"]) == 0
    return out


def test_train_writes_a_run(tiny_run):
    assert (tiny_run / "config.yaml").is_file() and (tiny_run / "metrics.jsonl").is_file()
    assert [p.name for p in checkpoint_dirs(tiny_run / "checkpoints")] == ["step_00000003", "step_00000006"]
    assert (tiny_run / "samples" / "step_00000006.png").is_file()


def test_training_again_resumes(tiny_run, capsys):
    assert recipe.main(["--config", str(TINY), f"out_dir={tiny_run}", "model.conditional=true", "train.steps=8"]) == 0
    assert "Resumed from" in capsys.readouterr().out
    assert checkpoint_dirs(tiny_run / "checkpoints")[-1].name == "step_00000008"


def test_generate_grid_class_and_interpolation(tiny_run, tmp_path):
    grid = tmp_path / "grid.png"
    assert recipe.main(["generate", "--run", str(tiny_run), "--num", "9", "--out", str(grid)]) == 0
    assert Image.open(grid).size == (3 * 16 + 4 * 2, 3 * 16 + 4 * 2)
    assert recipe.main(["generate", "--run", str(tiny_run), "--num", "4", "--class", "7", "--out", str(grid)]) == 0
    strip = tmp_path / "strip.png"
    assert recipe.main(["generate", "--run", str(tiny_run), "--num", "5", "--interpolate", "--out", str(strip)]) == 0
    assert Image.open(strip).size == (5 * 16 + 6 * 2, 16 + 2 * 2)


def test_generate_errors_are_one_line(tiny_run, capsys):
    assert recipe.main(["generate", "--run", str(tiny_run), "--class", "12"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --class") and "\n" not in err
    assert recipe.main(["generate", "--run", str(tiny_run / "nope")]) == 2


def test_evaluate(tiny_run, capsys):
    assert recipe.main(["evaluate", "--run", str(tiny_run), "--num", "50"]) == 0
    out = capsys.readouterr().out
    assert "n_real=1797 n_fake=50" in out and "FID=" in out and "classes_present=" in out
    assert "protocol: real = the run's training images: all 1,797 embedded digits" in out
    report = json.loads((tiny_run / "evaluation.json").read_text())
    assert (report["n_real"], report["n_fake"]) == (1797, 50)  # the keys readers of evaluation.json use
    assert "FID" in report["scores"]["digits-classifier (128-d)"]
    protocol = report["protocol"]
    assert (protocol["n_real"], protocol["n_fake"], protocol["seed"]) == (1797, 50, 0)
    assert protocol["real"].endswith("(scikit-learn load_digits), 16x16")
    assert list(protocol["extractors"]) == ["digits-classifier (128-d)"]


def test_evaluate_on_photos_prints_no_digit_fid(tmp_path, capsys, monkeypatch):
    import numpy as np

    for i in range(6):
        Image.fromarray(np.full((20, 20, 3), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    run = tmp_path / "run"
    assert recipe.main(["--config", str(TINY), f"out_dir={run}", f"data.path={tmp_path}", "train.steps=2"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(image_evaluate, "inception_available", lambda: False)  # as without the metrics extra
    assert recipe.main(["evaluate", "--run", str(run), "--num", "8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no meaningful FID for these images") and "metrics extra" in out and "FID=" not in out
    assert not (run / "evaluation.json").exists()


def test_bad_key_is_one_line(capsys, tmp_path):
    assert recipe.main([f"out_dir={tmp_path}", "model.widthh=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: unknown config key 'model.widthh'"


def test_help_lists_defaults(capsys):
    assert recipe.main(["--help"]) == 0
    assert "batch_size: 64" in capsys.readouterr().out


def test_user_image_folder(tmp_path, capsys):
    for i in range(4):
        Image.fromarray((torch.rand(24, 24, 3) * 255).byte().numpy()).save(tmp_path / f"{i}.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage")
    out = tmp_path / "run"
    code = recipe.main(["--config", str(TINY), f"out_dir={out}", f"data.path={tmp_path}"])
    assert code == 0 and (out / "samples" / "step_00000006.png").is_file()
    captured = capsys.readouterr()
    assert f"warning: skipped {tmp_path / 'bad.png'}: not an image Pillow can decode" in captured.err.splitlines()
    assert "1 image file(s) could not be decoded and were skipped" in captured.out
