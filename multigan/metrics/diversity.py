"""How different a batch of samples is from itself: the collapse guard's diversity (multigan.core.health)."""

from __future__ import annotations

import torch


def sample_spread(samples: torch.Tensor) -> float:
    """The standard deviation across the batch (dim 0) of each element, averaged over the elements:
    0 when every sample is the same, whatever the modality (images, clips, spectrograms, waveforms)."""
    if samples.shape[0] < 2:
        raise ValueError("sample_spread needs at least 2 samples")
    return float(samples.detach().double().flatten(1).std(dim=0).mean())
