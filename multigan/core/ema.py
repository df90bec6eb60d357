"""Exponential moving average of the generator's weights, used for sampling."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, *, copy_only: bool = False) -> None:
        """ema <- decay * ema + (1 - decay) * model; buffers (e.g. BN statistics) are copied."""
        ema_params: list[torch.Tensor] = list(self.model.parameters())
        params = [p.detach() for p in model.parameters()]
        if copy_only:
            torch._foreach_copy_(ema_params, params)
        else:
            torch._foreach_lerp_(ema_params, params, 1.0 - self.decay)
        for ema_buf, buf in zip(self.model.buffers(), model.buffers()):
            ema_buf.copy_(buf)
