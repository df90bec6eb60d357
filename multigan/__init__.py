"""multigan: one adversarial core for video, image and text GANs. `multigan.load(path)` is the Python API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multigan.api import Pipeline

__version__ = "0.2.0"


def load(path: str | Path, device: str = "cpu", checkpoint: str | None = None) -> Pipeline:
    """A trained run folder (its newest checkpoint, or `checkpoint`: best, mle, step_XXXXXXXX) or an
    exported folder -> its generator (see multigan.api)."""
    from multigan.api import load as load_pipeline  # imported on use: `import multigan.core` stays light

    return load_pipeline(path, device, checkpoint)
