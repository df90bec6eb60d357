from pathlib import Path

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


def test_manifest_lists_every_file_with_size_and_sha256(tmp_path):
    import hashlib
    import json

    path = ckpt.save_checkpoint(tmp_path, 1, _modules(1.0), {"step": 1})
    manifest = json.loads((path / ckpt.MANIFEST).read_text())
    assert set(manifest["files"]) == {"G.safetensors", "state.pt"}
    for name, entry in manifest["files"].items():
        data = (path / name).read_bytes()
        assert entry == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert ckpt.damage(path) is None


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (lambda p: (p / "G.safetensors").write_bytes((p / "G.safetensors").read_bytes()[:100]), "100 bytes"),
        (lambda p: (p / "state.pt").write_bytes(b""), "state.pt is 0 bytes"),
        (lambda p: (p / "G.safetensors").unlink(), "G.safetensors is missing"),
        (lambda p: (p / ckpt.MANIFEST).write_text("{not json"), "manifest.json is unreadable"),
        (lambda p: (p / ckpt.MANIFEST).write_text('{"files": {"state.pt": 5}}'), "manifest.json is unreadable"),
        (lambda p: (p / "extra.safetensors").write_bytes(b"x"), "extra.safetensors is not in the manifest"),
        (lambda p: _flip_last_byte(p / "G.safetensors"), "does not match its sha256"),
    ],
)
def test_damaged_newest_checkpoint_is_passed_over_and_kept(tmp_path, capsys, spoil, says):
    older = ckpt.save_checkpoint(tmp_path, 1, _modules(1.0), {"step": 1})
    newest = ckpt.save_checkpoint(tmp_path, 2, _modules(2.0), {"step": 2})
    spoil(newest)
    assert ckpt.latest_checkpoint(tmp_path) == older
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"warning: passing over damaged checkpoint {newest}") and says in err[0]
    # never deleted: not by pruning, and not by a new save of the same step (it is set aside)
    ckpt.save_checkpoint(tmp_path, 3, _modules(3.0), {"step": 3}, keep=1)
    assert newest.is_dir() and not older.exists()
    ckpt.save_checkpoint(tmp_path, 2, _modules(2.5), {"step": 2}, keep=0)
    assert (tmp_path / "step_00000002.damaged").is_dir() and ckpt.damage(newest) is None


def test_pruning_never_removes_a_damaged_checkpoint(tmp_path):
    oldest = ckpt.save_checkpoint(tmp_path, 1, _modules(1.0), {"step": 1})
    _flip_last_byte(oldest / "G.safetensors")
    for step in (2, 3, 4):
        ckpt.save_checkpoint(tmp_path, step, _modules(step), {"step": step}, keep=1)
    assert [p.name for p in ckpt.checkpoint_dirs(tmp_path)] == ["step_00000001", "step_00000004"]


def test_when_every_checkpoint_is_damaged_nothing_starts_over(tmp_path, capsys):
    for step in (1, 2):
        path = ckpt.save_checkpoint(tmp_path, step, _modules(step), {"step": step})
        (path / "state.pt").write_bytes(b"")
    with pytest.raises(ckpt.MultiganError, match="none of the 2 checkpoint"):
        ckpt.latest_checkpoint(tmp_path)
    assert capsys.readouterr().err.count("warning: passing over damaged checkpoint") == 2
    assert ckpt.latest_checkpoint(tmp_path / "no_such_folder") is None  # a new run


def test_a_checkpoint_from_before_manifests_is_used_unverified(tmp_path, capsys):
    path = ckpt.save_checkpoint(tmp_path, 1, _modules(1.0), {"step": 1})
    (path / ckpt.MANIFEST).unlink()
    assert ckpt.latest_checkpoint(tmp_path) == path
    assert "has no manifest.json (an older multigan wrote it): using it unverified" in capsys.readouterr().err


@pytest.mark.parametrize("crash_after", [".old-step_00000001", "step_00000001"])
def test_a_crash_while_replacing_a_step_keeps_a_checkpoint_of_it(tmp_path, monkeypatch, crash_after):
    ckpt.save_checkpoint(tmp_path, 1, _modules(1.0), {"step": 1})
    real_replace = ckpt.os.replace

    def replace_then_crash(src, dst):
        real_replace(src, dst)
        if Path(dst).name == crash_after:
            raise OSError("power cut")

    monkeypatch.setattr(ckpt.os, "replace", replace_then_crash)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(tmp_path, 1, _modules(2.0), {"step": 1})
    monkeypatch.undo()
    path = ckpt.latest_checkpoint(tmp_path)
    assert path is not None and path.name == "step_00000001"
    target = _modules(0.0)
    ckpt.load_weights(path, target)
    assert target["G"].weight.flatten()[0].item() in (1.0, 2.0)  # the old or the new copy, whole
