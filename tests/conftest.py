import os

import pytest
import torch

# Two cores: keep intra-op threads modest so parallel pieces of a test do not fight.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Cached artefacts (the digit classifier) go to one temporary folder per test session."""
    monkeypatch.setenv("MULTIGAN_CACHE", str(tmp_path_factory.getbasetemp() / "multigan-cache"))


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
