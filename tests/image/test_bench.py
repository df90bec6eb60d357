"""scripts/bench_image.py replaces only its own section of docs/BENCHMARKS.md."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_image.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_image", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_replace_section_keeps_other_sections():
    bench = _bench()
    text = "# Benchmarks\n\nintro\n\n## Text\n\nt1\n\n## Image\n\nold\n\n## Video\n\nv1\n"
    out = bench.replace_section(text, "## Image", "## Image\n\nnew\n")
    assert out == "# Benchmarks\n\nintro\n\n## Text\n\nt1\n\n## Image\n\nnew\n\n## Video\n\nv1\n"
    last = "# Benchmarks\n\n## Text\n\nt1\n\n## Image\n\nold\n"
    assert (
        bench.replace_section(last, "## Image", "## Image\n\nnew")
        == "# Benchmarks\n\n## Text\n\nt1\n\n## Image\n\nnew\n"
    )


def test_replace_section_appends_when_missing():
    bench = _bench()
    assert (
        bench.replace_section("# B\n\n## Text\n\nt\n", "## Image", "## Image\n\nx\n")
        == "# B\n\n## Text\n\nt\n\n## Image\n\nx\n"
    )
    assert bench.replace_section("", "## Image", "## Image\n") == "## Image\n"


def test_write_section_creates_the_file_with_a_header(tmp_path):
    bench = _bench()
    path = tmp_path / "docs" / "BENCHMARKS.md"
    bench.write_section(path, "## Image\n\nfirst\n")
    path.write_text(path.read_text() + "\n## Video\n\nv\n")  # another engineer's section
    bench.write_section(path, "## Image\n\nsecond\n")
    text = path.read_text()
    assert text.startswith("# Benchmarks\n") and "second" in text and "first" not in text
    assert text.rstrip().endswith("## Video\n\nv")
