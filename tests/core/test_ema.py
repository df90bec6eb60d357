import torch
from torch import nn

from multigan.core.ema import EMA


def test_ema_update_is_a_lerp_and_copies_buffers():
    model = nn.BatchNorm1d(3)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.running_mean.fill_(5.0)
    ema.update(model)
    assert torch.allclose(ema.model.weight, torch.full((3,), 1.1))
    assert torch.equal(ema.model.running_mean, torch.full((3,), 5.0))
    assert not any(p.requires_grad for p in ema.model.parameters())


def test_ema_copy_only():
    model = nn.Linear(2, 2)
    ema = EMA(model, decay=0.99)
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model, copy_only=True)
    assert torch.equal(ema.model.weight, model.weight)
