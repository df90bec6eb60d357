"""The import rules of DESIGN.md: recipes -> adapters -> core; video -> io; io/video.py alone imports PyAV."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "multigan"
ADAPTERS = ("image", "text", "video")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_import_multigan_core_imports_no_adapter_and_no_pyav():
    code = (
        "import sys, multigan.core, multigan.core.trainer, multigan.core.cli\n"
        "bad = [m for m in sys.modules if m == 'av' or m.split('.')[:2] in "
        "(['multigan','image'], ['multigan','text'], ['multigan','video'], ['multigan','recipes'])]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_import_directions():
    for path in PACKAGE.rglob("*.py"):
        part = path.relative_to(PACKAGE).parts[0]
        for name in _imports(path):
            if part == "core":
                assert not name.startswith(tuple(f"multigan.{a}" for a in (*ADAPTERS, "recipes", "io"))), (path, name)
            if part in ADAPTERS:
                others = [a for a in ADAPTERS if a != part]
                assert not name.startswith(tuple(f"multigan.{a}" for a in (*others, "recipes"))), (path, name)
            if name == "av" or name.startswith("av."):
                assert path.relative_to(PACKAGE).as_posix() == "io/video.py", path
