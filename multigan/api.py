"""The Python API: load a trained run, or an exported folder, and generate.

    import multigan

    model = multigan.load("runs/video")                      # or an exported folder
    clips = model.generate(seed_frames, num_frames=10)      # video: uint8 (samples, frames, C, H, W)
    out = multigan.load("runs/translate").translate(images)   # translate: uint8 (n, 3, H, W) -> the other domain
    waves, rate = multigan.load("runs/audio").generate(8, label="60")  # audio: float (8, samples), 16000
    model.save_pretrained("exported/video")                 # weights, config, model card

`load` returns the modality's pipeline (multigan.<modality>.pipeline), the same object the
command line's `generate` verbs use. Nothing needs the training data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from multigan.audio.pipeline import AudioPipeline
from multigan.core.errors import MultiganError
from multigan.core.export import read_info
from multigan.image.pipeline import ImagePipeline
from multigan.text.pipeline import TextPipeline
from multigan.translate.pipeline import TranslatePipeline
from multigan.video.pipeline import VideoPipeline

Pipeline = ImagePipeline | VideoPipeline | TextPipeline | TranslatePipeline | AudioPipeline

LOADERS: dict[str, Callable[[str | Path, str, str | None], Pipeline]] = {
    "image": ImagePipeline.from_folder,
    "video": VideoPipeline.from_folder,
    "text": TextPipeline.from_folder,
    "translate": TranslatePipeline.from_folder,
    "audio": AudioPipeline.from_folder,
}


def load(path: str | Path, device: str = "cpu", checkpoint: str | None = None) -> Pipeline:
    """The generator of a run folder (its newest intact checkpoint, or the one named `checkpoint`:
    `best`, `mle`, `step_XXXXXXXX`) or of an exported folder, on `device` (`cpu`, `cuda`, `cuda:N`
    or `auto`)."""
    modality = read_info(path)["modality"]
    if modality not in LOADERS:
        raise MultiganError(f"{path}: unknown modality {modality!r} (this multigan knows {', '.join(LOADERS)})")
    return LOADERS[modality](path, device, checkpoint)
