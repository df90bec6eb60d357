"""scripts/bench_text_oracle.py: appends to its own section only, and runs end to end (tiny)."""

import importlib.util
import sys
from pathlib import Path

import pytest

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
    args = ["--scale", "mini", "--out", str(tmp_path / "run"), "--eval-samples", "30", "--benchmarks-file", str(target)]
    assert bench.main(args + [a for kv in tiny for a in ("--set", kv)]) == 0
    text = target.read_text()
    assert "## Text" in text and "mini scale" in text and "machine:" in text and "versions:" in text
    for row in ("| Random |", "| MLE |", "| SeqGAN |", "per-prefix loop"):
        assert row in text
    assert bench.main(args) == 2  # the run directory is taken
    assert "already holds a run" in capsys.readouterr().err
