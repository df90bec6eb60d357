"""scripts/bench_text_oracle.py: appends to its own section only, and runs end to end (tiny)."""

import importlib.util
import sys
from pathlib import Path

import pytest
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_text_oracle.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_text_oracle", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_entries_append_to_the_text_section_only(tmp_path):
    bench = _bench()
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n## Image\n\nimg\n\n## Text\n\nold entry\n\n## Video\n\nvid\n")
    bench.append_benchmarks("### new entry\n\nfigures", path)
    assert path.read_text() == (
        "# Benchmarks\n\n## Image\n\nimg\n\n## Text\n\nold entry\n\n### new entry\n\nfigures\n\n## Video\n\nvid\n"
    )
    path.write_text("# Benchmarks\n\n## Image\n\nimg\n")
    bench.append_benchmarks("### first", path)
    assert path.read_text() == "# Benchmarks\n\n## Image\n\nimg\n\n## Text\n\n### first\n"


@pytest.mark.slow
def test_tiny_benchmark_reports_three_rows_and_the_speed_ratio(tmp_path, capsys):
    bench = _bench()
    target = tmp_path / "BENCHMARKS.md"
    tiny = [
        "data.oracle_vocab=20",
        "data.oracle_sequences=64",
        "data.seq_len=6",
        "seqgan.mle_epochs=1",
        "seqgan.d_pretrain_rounds=1",
        "seqgan.rollouts=2",
        "train.steps=1",
        "model.d_filter_sizes=[1,2]",
        "model.d_num_filters=[4,4]",
    ]
    plot = tmp_path / "curve.png"
    args = ["--scale", "mini", "--out", str(tmp_path / "run"), "--eval-samples", "30", "--benchmarks-file", str(target)]
    args += ["--temperatures", "0.8,1.0", "--plot", str(plot)]
    assert bench.main(args + [a for kv in tiny for a in ("--set", kv)]) == 0
    text = target.read_text()
    assert "## Text" in text and "mini scale" in text and "machine:" in text and "versions:" in text
    for row in ("| Random |", "| MLE |", "| SeqGAN |", "per-prefix loop", "| 0.8 |", "| 1 |", "at equal NLL-test"):
        assert row in text
    assert Image.open(plot).size == (900, 620)
    assert bench.main(args) == 2  # the run directory is taken
    assert "already holds a run" in capsys.readouterr().err


def _point(t, nll_test, nll_oracle):
    return {"temperature": t, "nll_test": nll_test, "nll_oracle": nll_oracle}


def test_mle_curve_is_read_at_equal_nll_test_on_its_better_branch():
    bench = _bench()
    # NLL-test is lowest at T = 1 and rises on both sides; at NLL-test 8.3 the T < 1 branch gives
    # 7.9 + (8.0 - 7.9) * (8.3 - 8.4) / (8.2 - 8.4) = 7.95, the T > 1 branch 8.5: the lower counts
    mle = [_point(0.8, 8.4, 7.9), _point(0.9, 8.2, 8.0), _point(1.0, 8.1, 8.2), _point(1.1, 8.4, 8.6)]
    assert bench.at_equal_nll_test(mle, 8.3) == pytest.approx(7.95)
    assert bench.at_equal_nll_test(mle, 8.2) == pytest.approx(8.0)
    assert bench.at_equal_nll_test(mle, 8.05) is None  # below MLE's lowest NLL-test
    assert bench.at_equal_nll_test(mle, 8.5) is None  # beyond the grid
    seqgan = [_point(0.8, 8.5, 7.7), _point(0.9, 8.3, 7.9), _point(1.0, 8.2, 8.1), _point(1.1, 8.3, 8.3)]
    table, comparison = bench.curve_report({"MLE": mle, "SeqGAN": seqgan})
    assert table[3] == "| 0.9 | 8.000 | 8.200 | 7.900 | 8.300 | 7.950 | -0.050 |"
    assert table[4] == "| 1 | 8.200 | 8.100 | 8.100 | 8.200 | 8.000 | +0.100 |"
    assert "outside MLE's curve" in table[2]
    assert comparison[0].startswith("- at equal NLL-test, SeqGAN's NLL-oracle is below MLE's curve at 1 of the 3 ")


def test_the_curve_plot_has_a_line_per_model(tmp_path):
    bench = _bench()
    curves = {
        "MLE": [_point(0.9, 8.2, 8.0), _point(1.0, 8.1, 8.2)],
        "SeqGAN": [_point(0.9, 8.3, 7.9), _point(1.0, 8.2, 8.1)],
    }
    bench.draw_curves(curves, tmp_path / "plot.png", "title")
    image = Image.open(tmp_path / "plot.png").convert("RGB")
    colours = {c for _, c in image.getcolors(maxcolors=1 << 20)}
    assert image.size == (900, 620) and set(bench.COLOURS[:2]) <= colours
