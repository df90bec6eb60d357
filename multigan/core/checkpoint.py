"""Checkpoints: weights in safetensors, everything else in a `weights_only`-loadable state file.

A checkpoint is a folder `checkpoints/step_XXXXXXXX/` holding one `<name>.safetensors` per network
(G, D, G_ema, ...), `state.pt` (optimizers, schedulers, scaler, counters, data position, RNG states)
and `manifest.json` (each file's size and sha256), written last.

Writing: the files go into a temporary folder and are fsynced, the manifest is written and fsynced,
then the folder is renamed to its final name and the parent fsynced. A crash mid-save leaves the
earlier checkpoints as they were; a folder only counts once it has its final name.

Reading: `latest_checkpoint` verifies each candidate against its manifest, newest first, and passes
over a damaged one (missing, truncated or altered file, no manifest) with a one-line warning that
names it and what is wrong. Damaged checkpoints are never deleted: pruning removes only intact
ones, and a damaged folder in the way of a new save is renamed aside.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import nn

from multigan.core.errors import MultiganError, warn

PREFIX = "step_"
STATE_FILE = "state.pt"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
_NAME = re.compile(rf"^{PREFIX}(\d+)$")


def _recover(root: Path) -> None:
    """Put back a checkpoint that was moved aside to be replaced when the save died mid-way."""
    for old in root.glob(".old-*"):
        final = root / old.name.removeprefix(".old-")
        if not final.exists():
            os.replace(old, final)


def checkpoint_dirs(root: Path) -> list[Path]:
    """Every checkpoint folder with a final name under `root`, intact or not, oldest first."""
    if not root.is_dir():
        return []
    _recover(root)
    found = [p for p in root.iterdir() if p.is_dir() and _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX) :]))


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def is_unverifiable(path: Path) -> bool:
    """A checkpoint from before manifests (multigan 0.1): a state file, no manifest. A save in
    progress never has its final name, so only an older multigan leaves such a folder."""
    return not (path / MANIFEST).exists() and (path / STATE_FILE).is_file()


def damage(path: Path) -> str | None:
    """What is wrong with the checkpoint at `path`, or None when every file matches its manifest."""
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        return f"no {MANIFEST} and no {STATE_FILE}" if not (path / STATE_FILE).is_file() else f"no {MANIFEST}"
    try:
        files = json.loads(manifest_file.read_text())["files"]
        entries_ok = all(isinstance(e, dict) and {"size", "sha256"} <= e.keys() for e in files.values())
        if not entries_ok or STATE_FILE not in files:
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return f"{MANIFEST} is unreadable"
    unlisted = sorted(p.name for p in path.glob("*.safetensors") if p.name not in files)
    if unlisted:
        return f"{unlisted[0]} is not in the manifest"
    for name, entry in files.items():
        file = path / name
        if not file.is_file():
            return f"{name} is missing"
        size = file.stat().st_size
        if size != entry["size"]:
            return f"{name} is {size} bytes, the manifest says {entry['size']}"
        if _sha256(file) != entry["sha256"]:
            return f"{name} does not match its sha256 in the manifest"
    return None


def intact_checkpoints(root: Path) -> Iterator[Path]:
    """Checkpoints that match their manifests, newest first; each damaged one passed over is named
    in a one-line warning. A checkpoint written before manifests existed is used unverified, with a
    warning. Raises when checkpoints exist but none is intact, so a run never starts over unasked."""
    found = checkpoint_dirs(root)
    for path in reversed(found):
        if is_unverifiable(path):
            warn(f"checkpoint {path} has no {MANIFEST} (an older multigan wrote it): using it unverified")
            yield path
            continue
        problem = damage(path)
        if problem is None:
            yield path
        else:
            warn(f"passing over damaged checkpoint {path}: {problem}")
    if found:
        raise MultiganError(
            f"none of the {len(found)} checkpoint(s) in {root} is intact (see the warnings above); "
            "move them elsewhere to start this run over"
        )


def latest_checkpoint(root: Path) -> Path | None:
    """The newest intact checkpoint under `root`; None when there is none at all (a new run)."""
    return next(intact_checkpoints(root), None)


def named_checkpoint(root: Path, name: str) -> Path | None:
    """`root/<name>` (e.g. `best`) when it exists and matches its manifest; a damaged one is named in
    a one-line warning and passed over (None)."""
    if root.is_dir():
        _recover(root)
    path = root / name
    if not path.is_dir():
        return None
    problem = damage(path)
    if problem is not None:
        warn(f"passing over damaged checkpoint {path}: {problem}")
        return None
    return path


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _set_aside(folder: Path) -> Path:
    """Rename a (damaged) folder out of the way instead of deleting it."""
    n = 0
    while (aside := folder.with_name(f"{folder.name}.damaged{'' if n == 0 else f'-{n}'}")).exists():
        n += 1
    os.replace(folder, aside)
    return aside


def save_checkpoint(
    root: Path,
    step: int,
    modules: dict[str, nn.Module],
    state: dict[str, Any],
    *,
    keep: int = 3,
    name: str | None = None,
) -> Path:
    """Write `root/step_XXXXXXXX` (pruning to the newest `keep` of them), or `root/<name>` (e.g.
    `best`), which replaces the previous one of that name and is never pruned nor resumed from."""
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):  # a save that never finished
        shutil.rmtree(stale, ignore_errors=True)
    final = root / (name or f"{PREFIX}{step:08d}")
    tmp = root / f".tmp-{final.name}"
    tmp.mkdir()
    for module_name, module in modules.items():
        save_model(module, str(tmp / f"{module_name}.safetensors"))
    torch.save(state, tmp / STATE_FILE)
    files = {}
    for file in sorted(tmp.iterdir()):
        _fsync(file)
        files[file.name] = {"size": file.stat().st_size, "sha256": _sha256(file)}
    manifest = {"format": MANIFEST_FORMAT, "step": step, "files": files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    _fsync(tmp / MANIFEST)
    _fsync(tmp)
    replaced = None
    if final.exists():  # the same step saved again (e.g. resumed from an older checkpoint), or a new `best`
        if damage(final) is None:
            replaced = root / f".old-{final.name}"
            shutil.rmtree(replaced, ignore_errors=True)
            os.replace(final, replaced)  # deleted only once the new one is in place
        else:
            warn(f"kept damaged checkpoint {final} as {_set_aside(final).name}")
    os.replace(tmp, final)
    _fsync(root)
    if replaced is not None:
        shutil.rmtree(replaced, ignore_errors=True)
    if keep > 0 and name is None:
        intact = [p for p in checkpoint_dirs(root) if damage(p) is None]
        for old in intact[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_weights(path: Path, modules: dict[str, nn.Module]) -> None:
    for name, module in modules.items():
        file = path / f"{name}.safetensors"
        if not file.is_file():
            raise MultiganError(f"checkpoint {path} has no weights for {name}")
        try:
            missing, unexpected = load_model(module, str(file), strict=False)
        except SafetensorError as err:
            raise MultiganError(f"cannot read {file}: {str(err).splitlines()[0]}") from None
        except RuntimeError as err:  # shape mismatches
            first = str(err).splitlines()[-1].strip().rstrip(".")
            raise MultiganError(f"checkpoint {file} does not match the model ({first})") from None
        if missing or unexpected:
            raise MultiganError(
                f"checkpoint {file} does not match the model (missing {sorted(missing)[:3]}, "
                f"unexpected {sorted(unexpected)[:3]}): was it trained with another model config?"
            )


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def load_state(path: Path) -> dict[str, Any]:
    """The state file, read with `weights_only=True`. One that asks for anything else (a pickled
    object or function: a multigan checkpoint never holds one) is refused, naming what it asked for."""
    file = path / STATE_FILE
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = _GLOBAL.search(str(err))
        asked = f"the global {found.group(1)}" if found else "an object that is not plain tensors and numbers"
        raise MultiganError(
            f"refusing to load {file}: it asks for {asked}, which a multigan checkpoint never holds; "
            "it was not written by multigan or has been tampered with"
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise MultiganError(f"cannot read {file}: {str(err).splitlines()[0]}") from None


def rng_state() -> dict[str, Any]:
    np_state: Any = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].copy()), *np_state[2:]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    name, key, *rest = state["numpy"]
    np.random.set_state((name, key.numpy(), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
