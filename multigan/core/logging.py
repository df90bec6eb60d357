"""Metric logging: metrics.jsonl always, TensorBoard when it is installed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch


def to_float(value: Any) -> float:
    return float(value.detach().float().mean().item()) if isinstance(value, torch.Tensor) else float(value)


class MetricLogger:
    def __init__(self, run_dir: Path, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._file = None
        self._tb = None
        if not enabled:
            return
        self._file = open(run_dir / "metrics.jsonl", "a", encoding="utf-8")
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(run_dir / "tensorboard"))
        except ImportError:
            self._tb = None

    def log(self, step: int, values: dict[str, Any], **fields: Any) -> dict[str, float]:
        floats = {k: to_float(v) for k, v in values.items()}
        if self.enabled and self._file is not None:
            record = {"step": step, **fields, **{k: (v if math.isfinite(v) else str(v)) for k, v in floats.items()}}
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
            if self._tb is not None:
                for k, v in floats.items():
                    self._tb.add_scalar(k, v, step)
        return floats

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
