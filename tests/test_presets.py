"""Every YAML preset in recipes/ loads into its recipe's config dataclass."""

import importlib
from pathlib import Path

import pytest

from multigan.core.config import load_config

PRESETS = sorted((Path(__file__).resolve().parents[1] / "recipes").rglob("*.yaml"))


def test_presets_exist():
    assert any(p.stem == "image" for p in PRESETS)


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_preset_loads(path):
    recipe = path.stem.split("_")[0]
    module = importlib.import_module(f"multigan.recipes.{recipe}")
    cfg = load_config(module.CONFIG_CLASS, path)
    assert cfg.train.steps > 0
