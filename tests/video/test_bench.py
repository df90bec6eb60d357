"""scripts/bench_video.py keeps other sections of docs/BENCHMARKS.md and appends to its own."""

import importlib.util
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
