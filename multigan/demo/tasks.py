"""What the page's buttons do, run in the run's own process (multigan.demo.worker).

Each task takes the pipeline `multigan.load` returned and plain values, calls the pipeline's own
methods (the ones the CLI's generate verbs call), and writes what the page shows into `out`. No
generation logic lives here: only reading uploads, laying results out and writing files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from multigan.audio.adapter import write_sounds
from multigan.audio.pipeline import AudioPipeline
from multigan.core.errors import MultiganError
from multigan.image.adapter import save_image_grid
from multigan.image.pipeline import ImagePipeline
from multigan.io.image import read_image, read_image_scaled
from multigan.io.video import VIDEO_EXTENSIONS, write_video
from multigan.text.pipeline import TextPipeline
from multigan.translate.pipeline import TranslatePipeline, save_rows
from multigan.video.adapter import VideoAdapter, tiles
from multigan.video.pipeline import VideoPipeline

HELDOUT_SHOWN = 24  # held-out clips offered in the picker
FPS = 10.0


def abilities(model: Any) -> dict[str, Any]:
    """What the run's tab offers: only what this run can do."""
    if isinstance(model, VideoPipeline):
        return {"context": model.context, "keywords": model.keywords, "heldout": _heldout_names(model)}
    if isinstance(model, ImagePipeline):
        return {"classes": model.num_classes}
    if isinstance(model, TextPipeline):
        return {"oracle": model.adapter.tokenizer is None}
    if isinstance(model, TranslatePipeline):
        two_sided = not model.cfg.one_sided
        return {"reference": model.reference_guided, "blend": two_sided, "directions": list(model.directions)}
    if isinstance(model, AudioPipeline):
        return {"labels": model.class_names}
    raise MultiganError(f"the demo has no tab for {type(model).__name__}")


# ------------------------------------------------------------------------------------------ video


def _heldout(model: VideoPipeline) -> VideoAdapter:
    return VideoAdapter(model.cfg, run_dir=model.source)


def _heldout_names(model: VideoPipeline) -> list[str]:
    """Labels of the first held-out clips of the run's own data ([] where the data is not here)."""
    try:
        adapter = _heldout(model)
        n = min(HELDOUT_SHOWN, len(adapter.heldout()))
        if not n:
            return []
        _, captions = adapter.heldout_clips(n)
        kind = "held-out clip" if adapter.roots()[1] is not None else "training clip (the run has no held-out folder)"
    except (MultiganError, OSError):  # an exported model without its data, or data moved away
        return []
    return [f"{kind} {i}" + (f": {c}" if c else "") for i, c in enumerate(captions)]


def _write_clip(frames: torch.Tensor, tile: int, out: Path) -> dict[str, Any]:
    """uint8 (t, H, W, c) -> an mp4 scaled up (nearest) so a tile is at least 128 pixels."""
    scale = max(1, 128 // tile)
    frames = frames.repeat_interleave(scale, 1).repeat_interleave(scale, 2)
    path = write_video(out / "clip.mp4", frames.numpy(), fps=FPS)
    return {"video": str(path), "frames": int(frames.shape[0])}


def video_continue(
    model: VideoPipeline,
    out: Path,
    files: list[str],
    keywords: str | None,
    num_frames: int,
    samples: int,
    seed: int,
) -> dict[str, Any]:
    """Seed frames (image files, or one video file) continued, optionally following keywords; or,
    with keywords and no files, clips drawn from the keywords alone. Samples side by side."""
    keywords = keywords.strip() if keywords else None
    if not files and not keywords:
        raise MultiganError(
            "upload seed frames or a video, pick a held-out clip" + (", or type keywords" if model.keywords else "")
        )
    caption = model.caption_tokens(keywords) if keywords else None
    if not files:
        assert caption is not None
        drawn = model.draw_clips(caption, num_frames, seed=seed, samples=samples)  # (samples, 1, n, c, h, w)
        return _write_clip(tiles(list(drawn)), model.cfg.data.size, out)
    is_video = len(files) == 1 and Path(files[0]).suffix.lower() in VIDEO_EXTENSIONS
    context = model.seed_context(files[0] if is_video else files)
    generated = model.continue_clips(context, num_frames, seed=seed, samples=samples, caption=caption)
    return _write_clip(tiles([torch.cat([context, g], 1) for g in generated]), model.cfg.data.size, out)


def video_heldout(
    model: VideoPipeline, out: Path, index: int, keywords: str | None, num_frames: int, samples: int, seed: int
) -> dict[str, Any]:
    """A held-out clip of the run's data continued from its first K frames: truth | generated."""
    k, adapter = model.context, _heldout(model)
    if not 0 <= index < len(adapter.heldout(num_frames, k)):
        raise MultiganError(f"held-out clip {index} is not there at {k} + {num_frames} frames; pick an earlier one")
    clips, captions = adapter.heldout_clips(1, context=k, predict=num_frames, start=index)
    keywords = (keywords.strip() if keywords else None) or captions[0]
    caption = model.caption_tokens(keywords) if keywords and model.keywords else None
    context, truth = clips[:, :k], clips[:, k:]
    generated = model.continue_clips(context, num_frames, seed=seed, samples=samples, caption=caption)
    columns = [torch.cat([context, truth], 1), *(torch.cat([context, g], 1) for g in generated)]
    return _write_clip(tiles(columns), model.cfg.data.size, out) | {"caption": keywords or ""}


# ------------------------------------------------------------------------------------------ image


def image_grid(model: ImagePipeline, out: Path, label: int | None, count: int, seed: int) -> dict[str, Any]:
    path = out / "grid.png"
    save_image_grid(model.sample(count, seed=seed, label=label), path)
    return {"image": str(path)}


def image_between(
    model: ImagePipeline, out: Path, label: int | None, seed_a: int, seed_b: int, t: float
) -> dict[str, Any]:
    """seed a's image | the image a fraction t of the way | seed b's image."""
    strip = torch.cat([model.between(seed_a, seed_b, v, label=label) for v in (0.0, t, 1.0)])
    path = out / "between.png"
    save_image_grid(strip, path, nrow=3)
    return {"image": str(path)}


# ------------------------------------------------------------------------------------------ text


def text_generate(
    model: TextPipeline,
    out: Path,
    prompt: str,
    max_new_tokens: int,
    temperature: float,
    top_k: int,
    top_p: float,
    samples: int,
    seed: int,
) -> dict[str, Any]:
    texts = model.generate(prompt, max_new_tokens, samples, seed, temperature=temperature, top_k=top_k, top_p=top_p)
    return {"texts": texts}


# ------------------------------------------------------------------------------------------ translate


def translate_image(
    model: TranslatePipeline, out: Path, file: str, style: str | None, blend: float, direction: str
) -> dict[str, Any]:
    """source | translation (blended back towards the reconstruction when blend < 1)."""
    size = model.cfg.data.size
    image = read_image_scaled(file, size, multiple=4).permute(2, 0, 1).unsqueeze(0)
    reference = None
    if style is not None:
        reference = read_image(style, size, 3, what="style reference").permute(2, 0, 1).unsqueeze(0)
    result = model.translate(image, direction, style=reference, blend=None if blend >= 1 else blend)
    path = out / "translated.png"
    save_rows([torch.cat([image, result])], path)
    return {"image": str(path)}


# ------------------------------------------------------------------------------------------ audio


def audio_generate(model: AudioPipeline, out: Path, label: str | None, count: int, seed: int) -> dict[str, Any]:
    labels = model.labels(count, label)
    waveforms = model.sample_indices(labels, count, seed=seed)
    paths = write_sounds((waveforms, model.label_names(labels, count)), out / "sounds", model.cfg)
    return {"sounds": [str(p) for p in paths], "image": str(out / "sounds.png"), "rate": model.sample_rate}


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    f.__name__: f
    for f in (
        video_continue,
        video_heldout,
        image_grid,
        image_between,
        text_generate,
        translate_image,
        audio_generate,
    )
}
