"""The layout of shared/DESIGN.md section 1: one shape for every modality, and imports that point one way
(api -> recipes / modalities -> core; modalities -> io, metrics; metrics and io -> core only;
multigan/io/video.py and multigan/io/audio.py alone import PyAV)."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "multigan"
MODALITIES = ("image", "text", "video", "translate", "audio")
SHAPE = ("config.py", "models.py", "data.py", "adapter.py", "evaluate.py", "pipeline.py")
PYAV_MODULES = ("io/video.py", "io/audio.py")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _under(names: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n.startswith(tuple(f"multigan.{p}" for p in packages)))


def test_every_modality_has_the_same_files():
    for modality in MODALITIES:
        missing = [f for f in SHAPE if not (PACKAGE / modality / f).is_file()]
        assert not missing, (modality, missing)


def test_import_multigan_core_imports_no_modality_and_no_pyav():
    code = (
        "import sys, multigan, multigan.core, multigan.core.trainer, multigan.core.cli, multigan.core.export\n"
        "bad = [m for m in sys.modules if m == 'av' or m.split('.')[:2] in "
        "[['multigan', m] for m in ('image', 'text', 'video', 'translate', 'audio', 'recipes', 'api')]]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_import_directions():
    for path in PACKAGE.rglob("*.py"):
        part = path.relative_to(PACKAGE).parts[0]
        names = _imports(path)
        if part in ("core", "metrics", "io"):
            assert not _under(names, (*MODALITIES, "recipes", "api", "demo")), path
        if part == "core":
            assert not _under(names, ("io", "metrics")), path
        if part in MODALITIES:
            others = tuple(m for m in MODALITIES if m != part)
            assert not _under(names, (*others, "recipes", "api", "demo")), path
        if part == "recipes":
            assert not _under(names, ("api", "demo")), path
        if "av" in names or any(n.startswith("av.") for n in names):
            assert path.relative_to(PACKAGE).as_posix() in PYAV_MODULES, path


def test_recipes_hold_no_model_or_metric_code():
    """A recipe parses the command line and calls train, generate or evaluate: it builds no network
    and computes no metric itself."""
    for path in (PACKAGE / "recipes").glob("*.py"):
        names = _imports(path)
        assert not _under(names, ("metrics",)), path
        assert not any(n.endswith(".models") for n in names), path
