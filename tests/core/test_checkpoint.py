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


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (lambda p: (p / "G.safetensors").write_bytes((p / "G.safetensors").read_bytes()[:100]), "100 bytes"),
        (lambda p: (p / "state.pt").write_bytes(b""), "state.pt is 0 bytes"),
        (lambda p: (p / "G.safetensors").unlink(), "G.safetensors is missing"),
        (lambda p: (p / ckpt.MANIFEST).unlink(), "no manifest.json"),
        (lambda p: (p / ckpt.MANIFEST).write_text("{not json"), "manifest.json is unreadable"),
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


def test_a_flipped_byte_fails_the_checksum(tmp_path, capsys):
    older = ckpt.save_checkpoint(tmp_path, 1, _modules(1.0), {"step": 1})
    newest = ckpt.save_checkpoint(tmp_path, 2, _modules(2.0), {"step": 2})
    data = bytearray((newest / "G.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (newest / "G.safetensors").write_bytes(bytes(data))
    assert ckpt.latest_checkpoint(tmp_path) == older
    assert "does not match its sha256" in capsys.readouterr().err


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("manifest_matches", [True, False])
def test_a_state_file_with_a_pickle_payload_never_runs(tmp_path, capsys, manifest_matches):
    import hashlib
    import json

    marker = tmp_path / "payload_ran"
    path = ckpt.save_checkpoint(tmp_path / "ckpts", 1, _modules(1.0), {"step": 1})
    torch.save({"step": _Payload(marker)}, path / ckpt.STATE_FILE)
    if manifest_matches:  # a tamperer who also rewrote the manifest
        manifest = json.loads((path / ckpt.MANIFEST).read_text())
        data = (path / ckpt.STATE_FILE).read_bytes()
        manifest["files"][ckpt.STATE_FILE] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        (path / ckpt.MANIFEST).write_text(json.dumps(manifest))
        with pytest.raises(ckpt.MultiganError) as err:
            ckpt.load_state(ckpt.latest_checkpoint(tmp_path / "ckpts"))
        message = str(err.value)
        assert "\n" not in message and str(path / ckpt.STATE_FILE) in message and "system" in message
        assert "weights_only=False" not in message
    else:  # the checksum gives it away before anything is unpickled
        assert ckpt.latest_checkpoint(tmp_path / "ckpts") is None
        assert "state.pt" in capsys.readouterr().err
    assert not marker.exists()
