"""scripts/bench_video.py keeps other sections of docs/BENCHMARKS.md and appends to its own."""

import importlib.util
import sys
from pathlib import Path

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
