"""scripts/bench_video.py keeps other sections of docs/BENCHMARKS.md and appends to its own."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_video.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_video", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_append_creates_the_section_and_keeps_the_others(tmp_path):
    bench = load_bench()
    path = tmp_path / "BENCHMARKS.md"
    bench.append_to_section(path, bench.SECTION, "### first\n\nfigures 1")
    assert path.read_text().startswith("# Benchmarks") and "## Video\n\n### first\n\nfigures 1\n" in path.read_text()
    path.write_text(path.read_text() + "\n## Image\n\nimage figures\n")
    bench.append_to_section(path, bench.SECTION, "### second\n\nfigures 2")
    text = path.read_text()
    assert text.index("### first") < text.index("### second") < text.index("## Image")
    assert text.endswith("## Image\n\nimage figures\n")


def test_lever_scores_count_the_steps_that_beat_both_baselines(monkeypatch):
    bench = load_bench()
    monkeypatch.setattr(bench, "patch_features", lambda classifier, frames: frames.flatten(1)[:, :4].double())
    monkeypatch.setattr(bench, "frechet_distance", lambda a, b: float((a.mean(0) - b.mean(0)).abs().sum()))
    g = torch.Generator().manual_seed(0)
    clips = (torch.rand(4, 30, 1, 16, 16, generator=g) > 0.8).float()  # sparse bright pixels on black
    context, truth = clips[:, :10], clips[:, 10:]
    exact = bench.rollout_scores(truth.clone(), truth, context, None)
    assert exact["wins"] == 20 and exact["worst"] == 0.0 and exact["mse20"] == 0.0
    blank = bench.rollout_scores(torch.zeros_like(truth), truth, context, None)
    assert blank["wins"] == 0 and abs(blank["worst"] - 1.0) < 1e-9  # the blank frame itself beats nothing
    assert blank["mse10"] == blank["blank_mse10"] > 0


def test_an_unknown_lever_is_a_one_line_error(capsys):
    bench = load_bench()
    assert bench.main(["--levers", "no such lever", "--no-write"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown lever 'no such lever'" in err


def fake_lever_runs(monkeypatch, train_lever):
    """bench_video with `train_lever` for the training and fake held-out clips and scores."""
    bench = load_bench()
    monkeypatch.setattr(bench, "train_lever", train_lever)

    class Heldout:  # stands in for the 100 held-out clips: scoring is faked below
        def __init__(self, cfg):
            pass

        def heldout(self, predict, context):
            return [torch.zeros(30, 1, 8, 8, dtype=torch.uint8)]

    monkeypatch.setattr(bench, "VideoAdapter", Heldout)
    monkeypatch.setattr(bench, "digit_classifier", lambda: None)
    steps = 20

    def fake_score(folder, clips, classifier):
        seed = int(folder.parent.name.removeprefix("seed_"))
        mse = 0.03 + 0.01 * seed  # seeds 0, 1, 2: mean 0.04, sample std 0.01
        curve = {"mse": [mse] * steps, "ssim": [0.5] * steps}
        flat = {"mse": [0.06] * steps, "ssim": [0.6] * steps}
        return {
            "mse10": mse, "ssim10": 0.5, "mse20": mse, "ssim20": 0.5, "blank_mse10": 0.06, "blank_mse20": 0.06,
            "wins": seed, "steps": steps, "worst": mse / 0.06, "sharpness": 10.0, "grad_ratio": 0.5,
            "feature_fd": 1.0, "per_step": curve, "copy_per_step": flat, "blank_per_step": flat,
        }  # fmt: skip

    monkeypatch.setattr(bench, "score_lever", fake_score)
    return bench


def test_levers_over_several_seeds_report_mean_and_std(monkeypatch, tmp_path):
    trained = []
    bench = fake_lever_runs(monkeypatch, lambda run, steps, seed, cache_dir: trained.append(run.folder) or run)
    name = "trains 10 -> 5 (the GRU default)"
    lines = bench.bench_levers([name], tmp_path, 10, [0, 1, 2], 1, "", lambda msg: None)
    assert sorted(trained) == [tmp_path / f"seed_{s}" / "trains_10____5__the_GRU_default" for s in range(3)]
    row = next(line for line in lines if line.startswith(f"| {name} |"))
    assert "| 0.0400 ± 0.0100 |" in row and "| 33.3 ± 16.7 |" in row  # MSE 10; below blank: 50%, 33%, 17%
    assert "| 1.0 ± 1.0 / 20 |" in row  # steps won
    assert any(line.startswith(f"| {name} | 40.0 |") for line in lines)  # the per-step curve: the seeds' mean
    assert "seeds 0, 1, 2 (mean ± std)" in lines[0]


def test_the_rollout_gif_script_refuses_bad_input_in_one_line(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("make_rollout_gif", SCRIPT.parent / "make_rollout_gif.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = str(tmp_path / "x.gif")
    assert script.main(["--run", str(tmp_path / "missing"), "--out", out]) == 2
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("modality: video\n")
    assert script.main(["--run", str(tmp_path / "run"), "--frames", "21", "--out", out]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"make_rollout_gif.py: error: no run in {tmp_path / 'missing'} (its config.yaml is missing)",
        "make_rollout_gif.py: error: --frames must be 1 to 20",
    ]
    assert not (tmp_path / "x.gif").exists()


def test_a_lever_run_that_fails_is_reported_and_the_others_are_still_scored(monkeypatch, tmp_path):
    broken = "trains 10 -> 10"

    def train(run, steps, seed, cache_dir):
        if run.name == broken:
            raise subprocess.CalledProcessError(1, ["python", "-m", "multigan.recipes.video"])
        return run

    bench = fake_lever_runs(monkeypatch, train)
    kept = "trains 10 -> 5 (the GRU default)"
    lines = bench.bench_levers([broken, kept], tmp_path, 10, [0], 1, "", lambda msg: None)
    assert any(line.startswith(f"| {kept} |") for line in lines)
    assert not any(line.startswith(f"| {broken} |") for line in lines)
    log = tmp_path / "seed_0" / "trains_10____10.log"
    assert lines[-1] == f"- {broken} (seed 0): exit status 1, its log: {log}"


def test_each_lever_sets_a_key_once_its_own_value_over_its_cores():
    levers = load_bench().LEVERS
    for name, overrides in levers.items():
        keys = [o.split("=", 1)[0] for o in overrides]
        assert len(keys) == len(set(keys)), name
    assert "loss.adv_weight=0.3" in levers["SimVP core, 10 -> 5, GAN at 0.3 + L1 + MSE"]
    assert "loss.adv_weight=1" in levers["SimVP core, 10 -> 5, GAN + L1 + MSE"]
