import pytest
import torch
from torch import nn

from multigan.core import checkpoint as ckpt


def _modules(value: float) -> dict[str, nn.Module]:
    m = nn.Linear(2, 2)
    with torch.no_grad():
        m.weight.fill_(value)
    return {"G": m}


def test_round_trip_and_weights_only_state(tmp_path):
    path = ckpt.save_checkpoint(tmp_path, 5, _modules(1.5), {"step": 5, "rng": ckpt.rng_state()})
    target = _modules(0.0)
    ckpt.load_weights(path, target)
    assert torch.equal(target["G"].weight, torch.full((2, 2), 1.5))
    state = torch.load(path / "state.pt", weights_only=True)
    assert state["step"] == 5


def test_failed_save_leaves_previous_checkpoint(tmp_path, monkeypatch):
    first = ckpt.save_checkpoint(tmp_path, 1, _modules(1.0), {"step": 1})

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", broken_save)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(tmp_path, 2, _modules(2.0), {"step": 2})
    monkeypatch.undo()
    assert ckpt.latest_checkpoint(tmp_path) == first
    target = _modules(0.0)
    ckpt.load_weights(first, target)
    assert torch.equal(target["G"].weight, torch.full((2, 2), 1.0))
    # the next save clears the half-written folder
    ckpt.save_checkpoint(tmp_path, 3, _modules(3.0), {"step": 3})
    assert not list(tmp_path.glob(".tmp-*"))


def test_keeps_last_n(tmp_path):
    for step in range(1, 6):
        ckpt.save_checkpoint(tmp_path, step, _modules(step), {"step": step}, keep=2)
    assert [p.name for p in ckpt.checkpoint_dirs(tmp_path)] == ["step_00000004", "step_00000005"]


def test_mismatched_model_is_a_clear_error(tmp_path):
    path = ckpt.save_checkpoint(tmp_path, 1, _modules(1.0), {"step": 1})
    with pytest.raises(ckpt.MultiganError, match="does not match"):
        ckpt.load_weights(path, {"G": nn.Linear(3, 3)})
