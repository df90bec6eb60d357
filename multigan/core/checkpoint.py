"""Checkpoints: weights in safetensors, everything else in a `weights_only`-loadable state file.

A checkpoint is a folder `checkpoints/step_XXXXXXXX/` holding one `<name>.safetensors` per network
(G, D, G_ema) and `state.pt` (optimizers, schedulers, scaler, counters, data position, RNG states).
It is written under a temporary name and renamed, so a crash mid-save leaves earlier ones intact;
a folder only counts once it has its final name.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model
from torch import nn

from multigan.core.errors import MultiganError

PREFIX = "step_"
STATE_FILE = "state.pt"


def checkpoint_dirs(root: Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX) :]))


def latest_checkpoint(root: Path) -> Path | None:
    found = checkpoint_dirs(root)
    return found[-1] if found else None


def save_checkpoint(
    root: Path, step: int, modules: dict[str, nn.Module], state: dict[str, Any], *, keep: int = 3
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    final = root / f"{PREFIX}{step:08d}"
    tmp = root / f".tmp-{final.name}"
    tmp.mkdir()
    for name, module in modules.items():
        save_model(module, str(tmp / f"{name}.safetensors"))
    torch.save(state, tmp / STATE_FILE)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in checkpoint_dirs(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_weights(path: Path, modules: dict[str, nn.Module]) -> None:
    for name, module in modules.items():
        file = path / f"{name}.safetensors"
        if not file.is_file():
            raise MultiganError(f"checkpoint {path} has no weights for {name}")
        try:
            missing, unexpected = load_model(module, str(file), strict=False)
        except RuntimeError as err:  # shape mismatches
            first = str(err).splitlines()[-1].strip()
            raise MultiganError(f"checkpoint {file} does not match the model ({first})") from None
        if missing or unexpected:
            raise MultiganError(
                f"checkpoint {file} does not match the model (missing {sorted(missing)[:3]}, "
                f"unexpected {sorted(unexpected)[:3]}): was it trained with another model config?"
            )


def load_state(path: Path) -> dict[str, Any]:
    return torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state = {
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
