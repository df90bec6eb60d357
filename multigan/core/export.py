"""Run folders and exported folders: what `multigan.load` reads and `save_pretrained` writes.

Both hold `config.yaml` (the resolved config) and `multigan.json` (the modality and the multigan
version that wrote it). A run folder keeps its weights in `checkpoints/` (the newest intact
checkpoint's EMA generator is used); an exported folder holds only what sampling needs:
`generator.safetensors`, the modality's own files (a tokenizer for text) and a model card,
`README.md`, with the run's evaluation figures.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import OmegaConf
from safetensors.torch import save_model
from torch import nn

from multigan import __version__
from multigan.core.checkpoint import checkpoint_dirs, latest_checkpoint, load_weights, named_checkpoint
from multigan.core.config import RunConfig, load_config, save_config
from multigan.core.errors import MultiganError

INFO_FILE = "multigan.json"
WEIGHTS_FILE = "generator.safetensors"
CONFIG_FILE = "config.yaml"
EVALUATION_FILE = "evaluation.json"

T = TypeVar("T", bound=RunConfig)


def write_info(folder: Path, modality: str, kind: str) -> None:
    """`multigan.json`: {"modality", "kind": "run" | "export", "multigan": version}."""
    info = {"modality": modality, "kind": kind, "multigan": __version__}
    (folder / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")


def read_info(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    if not folder.is_dir():
        raise MultiganError(f"{folder} does not exist")
    file = folder / INFO_FILE
    if not file.is_file():
        if (folder / CONFIG_FILE).is_file():
            raise MultiganError(
                f"{folder} has no {INFO_FILE} (multigan 0.1 trained it): run train again with the same out_dir; "
                "it resumes and records it"
            )
        raise MultiganError(f"{folder} is neither a run folder nor an exported model (no {INFO_FILE})")
    try:
        info = json.loads(file.read_text())
        if not isinstance(info, dict) or not isinstance(info.get("modality"), str):
            raise ValueError
    except ValueError:
        raise MultiganError(f"{file} is unreadable") from None
    return info


def load_folder_config(folder: str | Path, config_cls: type[T]) -> T:
    """The config of a run folder (which must hold a checkpoint) or of an exported folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MultiganError(f"--run: {folder} does not exist")
    if not (folder / CONFIG_FILE).is_file():
        raise MultiganError(f"--run: {folder} is not a run directory (no {CONFIG_FILE})")
    if not (folder / WEIGHTS_FILE).is_file() and not checkpoint_dirs(folder / "checkpoints"):
        raise MultiganError(f"--run: {folder} has no checkpoint yet; train it first")
    return saved_config(folder / CONFIG_FILE, config_cls)


def saved_config(file: Path, config_cls: type[T]) -> T:
    """A run's saved `config.yaml`, a key added after it was saved read as what the run trained with
    (`config_cls.keys_added_later`), not as today's default."""
    saved = OmegaConf.load(file)
    added_later = config_cls.keys_added_later.items()
    older = [f"{key}={value}" for key, value in added_later if OmegaConf.select(saved, key) is None]
    return load_config(config_cls, file, older)


def shape_settings_changed(run_dir: Path, cfg: RunConfig) -> list[str]:
    """`key=value` for each model or data setting the run in `run_dir` was trained with (its saved
    `config.yaml`) that `cfg` sets otherwise: what a checkpoint that no longer fits the model is
    likely to come from. Empty when the run has no config this version can read."""
    file = run_dir / CONFIG_FILE
    try:
        saved = _flat(OmegaConf.to_container(OmegaConf.structured(saved_config(file, type(cfg)))))
    except Exception:  # a hint only: no config, or one this version cannot read, leaves the first error alone
        return []
    now = _flat(OmegaConf.to_container(OmegaConf.structured(cfg)))
    return [
        f"{key}={value}"
        for key, value in saved.items()
        if key.split(".")[0] in ("model", "data") and value != now.get(key)
    ]


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def load_generator(folder: str | Path, G: nn.Module, checkpoint: str | None = None) -> Path:
    """Load the trained generator into `G` (eval mode): an export's weights, or the EMA generator (G
    when the run kept no EMA) of a run's newest intact checkpoint, or of the one named `checkpoint`
    (`best`, `mle`, `step_XXXXXXXX`). Returns the file or checkpoint used."""
    folder = Path(folder)
    if (folder / WEIGHTS_FILE).is_file():
        if checkpoint is not None:
            raise MultiganError(f"--checkpoint: {folder} is an exported folder; it holds one generator")
        load_weights(folder, {WEIGHTS_FILE.removesuffix(".safetensors"): G})
        G.eval()
        return folder / WEIGHTS_FILE
    if checkpoint is None:
        path = latest_checkpoint(folder / "checkpoints")
    else:
        if not checkpoint or "/" in checkpoint or checkpoint.startswith("."):
            raise MultiganError(f"--checkpoint: {checkpoint!r} is not a checkpoint name (best, mle, step_XXXXXXXX)")
        path = named_checkpoint(folder / "checkpoints", checkpoint)
        if path is None:
            root = folder / "checkpoints"
            kept = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name[0] != ".") if root.is_dir() else []
            hint = "; checkpoints/best is kept by train.eval_every=N" if checkpoint == "best" else ""
            raise MultiganError(
                f"--checkpoint: {folder} has no intact checkpoint {checkpoint!r} "
                f"(it has: {', '.join(kept) or 'none'}){hint}"
            )
    if path is None:
        raise MultiganError(f"{folder} has no checkpoint to load")
    name = "G_ema" if (path / "G_ema.safetensors").is_file() else "G"
    load_weights(path, {name: G})
    G.eval()
    return path


def model_card(cfg: RunConfig, source: Path, evaluation: dict[str, Any] | None) -> str:
    """README.md for an exported folder: what it is, how to load it, and the run's figures."""
    lines = [
        "---",
        "library_name: multigan",
        f"tags: [gan, multigan, {cfg.modality}]",
        "---",
        "",
        f"# multigan {cfg.modality} generator",
        "",
        f"Exported from the run `{source}` with multigan {__version__}.",
        "",
        "```python",
        "import multigan",
        "",
        'model = multigan.load("path/to/this/folder")',
        "```",
        "",
        "## Evaluation",
        "",
    ]
    if evaluation:
        lines += ["From the run's `evaluation.json`:", "", "```json", json.dumps(evaluation, indent=1), "```"]
    else:
        lines.append("The run was not evaluated (no evaluation.json).")
    lines += ["", "## Config", "", "```yaml", (source / CONFIG_FILE).read_text().rstrip(), "```", ""]
    return "\n".join(lines)


def export_folder(
    source: Path, destination: str | Path, cfg: RunConfig, G: nn.Module, *, files: dict[str, Path] | None = None
) -> Path:
    """Write a self-contained folder that `multigan.load` reads: config, generator weights, the
    modality's `files` (name -> file or folder to copy) and a model card."""
    out = Path(destination)
    if out.resolve() == source.resolve():
        raise MultiganError("save_pretrained: the destination is the run folder itself")
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / CONFIG_FILE)
    save_model(G, str(out / WEIGHTS_FILE))
    for name, path in (files or {}).items():
        target = out / name
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target)
    evaluation = None
    if (source / EVALUATION_FILE).is_file():
        evaluation = json.loads((source / EVALUATION_FILE).read_text())
        shutil.copy2(source / EVALUATION_FILE, out / EVALUATION_FILE)
    (out / "README.md").write_text(model_card(cfg, source, evaluation))
    write_info(out, cfg.modality, "export")
    return out
