import os
import shutil
import signal

import pytest
import torch

from multigan.core.checkpoint import latest_checkpoint
from multigan.core.config import load_config
from multigan.core.errors import MultiganError
from multigan.core.logging import read_metrics
from multigan.core.trainer import Trainer, lr_factor
from tests.core.toy import ToyAdapter, ToyConfig


def _cfg(tmp_path, *overrides):
    return load_config(ToyConfig, None, [f"out_dir={tmp_path}", *overrides])


def _weights(trainer):
    return {k: v.clone() for name, m in trainer.modules().items() for k, v in m.state_dict().items()}


@pytest.mark.parametrize(
    ("extra", "reuse_batch"),
    [([], False), (["loss.r1_gamma=1.0", "loss.r1_every=3", "train.n_critic=2"], False), ([], True)],
)
def test_resume_is_bit_exact(tmp_path, extra, reuse_batch):
    straight = Trainer(ToyAdapter(_cfg(tmp_path / "a", *extra), reuse_batch=reuse_batch), _cfg(tmp_path / "a", *extra))
    straight.fit()
    first = _cfg(tmp_path / "b", "train.steps=4", *extra)
    Trainer(ToyAdapter(first, reuse_batch=reuse_batch), first).fit()
    second = _cfg(tmp_path / "b", *extra)
    resumed = Trainer(ToyAdapter(second, reuse_batch=reuse_batch), second)
    result = resumed.fit()
    assert result.resumed_from is not None and result.step == 8
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("n_critic", [1, 2])
def test_g_update_reads_the_batch_of_the_last_d_update_when_the_phase_asks(tmp_path, n_critic):
    def batches_seen(reuse_batch):
        cfg = _cfg(tmp_path / f"{reuse_batch}", "train.steps=3", f"train.n_critic={n_critic}")
        adapter = ToyAdapter(cfg, reuse_batch=reuse_batch)
        Trainer(adapter, cfg).fit()
        return adapter.seen

    for reuse_batch in (False, True):
        seen = batches_seen(reuse_batch)
        assert [who for who, _ in seen] == (["D"] * n_critic + ["G"]) * 3
        for step in range(3):
            calls = seen[step * (n_critic + 1) : (step + 1) * (n_critic + 1)]
            last_d, g = calls[-2][1], calls[-1][1]
            assert (g is last_d) == reuse_batch


def test_run_directory_layout(tmp_path):
    cfg = _cfg(tmp_path)
    Trainer(ToyAdapter(cfg), cfg).fit()
    assert (tmp_path / "config.yaml").is_file()
    assert (tmp_path / "samples" / "step_00000008.pt").is_file()
    assert latest_checkpoint(tmp_path / "checkpoints").name == "step_00000008"
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in rows] == list(range(1, 9))
    assert {"d_loss", "g_loss", "phase"} <= rows[0].keys()


def test_discriminator_learns_on_toy_problem(tmp_path):
    cfg = _cfg(tmp_path, "train.steps=30", "train.lr_d=0.01")
    trainer = Trainer(ToyAdapter(cfg), cfg)
    trainer.fit()
    with torch.no_grad():
        real = trainer.D(trainer.stream.dataset.tensors[0]).mean()
        fake = trainer.D(trainer.G(torch.randn(64, 4))).mean()
    assert real > fake  # D separates real from fake after training


def test_nonfinite_loss_is_skipped_and_counted(tmp_path):
    cfg = _cfg(tmp_path)
    trainer = Trainer(ToyAdapter(cfg, nan_at={3, 5}), cfg)
    result = trainer.fit()
    assert result.nonfinite_skipped == 2 and result.step == 8
    assert all(torch.isfinite(p).all() for p in trainer.G.parameters())


def test_nonfinite_in_a_row_reloads_then_stops(tmp_path):
    cfg = _cfg(tmp_path, "train.steps=20", "train.max_nonfinite=2", "train.checkpoint_every=2")
    adapter = ToyAdapter(cfg, nan_at=set(range(5, 100)))
    with pytest.raises(MultiganError, match="non-finite losses in a row"):
        Trainer(adapter, cfg).fit()
    # it reloaded once (the step-4 checkpoint) before giving up
    assert latest_checkpoint(tmp_path / "checkpoints").name == "step_00000004"


def test_sigterm_saves_and_resumes(tmp_path, capsys):
    def send_sigterm(local_step):
        if local_step == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    cfg = _cfg(tmp_path)
    result = Trainer(ToyAdapter(cfg, on_step_end=send_sigterm), cfg).fit()
    assert result.interrupted and result.step == 3
    assert latest_checkpoint(tmp_path / "checkpoints").name == "step_00000003"
    captured = capsys.readouterr()
    assert "Received SIGTERM" in captured.out + captured.err
    again = Trainer(ToyAdapter(cfg), cfg).fit()
    assert again.resumed_from is not None and again.step == 8 and not again.interrupted


def test_lr_schedules():
    assert lr_factor("constant", 5, 10, 0) == 1.0
    assert lr_factor("linear", 5, 10, 0) == pytest.approx(0.5)
    assert lr_factor("cosine", 10, 10, 0) == pytest.approx(0.0)
    assert lr_factor("constant", 0, 10, 4) == pytest.approx(0.25)


def test_channels_last_touches_only_4d_weights():
    from torch import nn

    from multigan.core.trainer import channels_last_

    net = nn.Sequential(nn.Conv3d(2, 4, 3), nn.Conv2d(4, 4, 3), nn.Linear(3, 3))
    channels_last_(net)
    assert net[1].weight.is_contiguous(memory_format=torch.channels_last)
    assert net[0].weight.is_contiguous() and net[2].weight.is_contiguous()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda p: (p / "G.safetensors").write_bytes((p / "G.safetensors").read_bytes()[:100]),
        lambda p: (p / "state.pt").write_bytes(b""),
        lambda p: (p / "D.safetensors").unlink(),
    ],
    ids=["truncated-weights", "empty-state", "missing-file"],
)
def test_training_continues_from_the_newest_intact_checkpoint(tmp_path, capsys, spoil):
    """Damage the newest checkpoint: the next run warns, resumes from the one before and ends with
    exactly the weights of a run resumed normally from that one."""
    for run in ("damaged", "normal"):
        cfg = _cfg(tmp_path / run, "train.steps=4", "train.checkpoint_every=2")
        Trainer(ToyAdapter(cfg), cfg).fit()
    spoil(tmp_path / "damaged" / "checkpoints" / "step_00000004")
    shutil.rmtree(tmp_path / "normal" / "checkpoints" / "step_00000004")
    capsys.readouterr()
    finished = {}
    for run in ("damaged", "normal"):
        cfg = _cfg(tmp_path / run, "train.steps=8", "train.checkpoint_every=2")
        trainer = Trainer(ToyAdapter(cfg), cfg)
        result = trainer.fit()
        assert result.resumed_from is not None and result.resumed_from.name == "step_00000002"
        finished[run] = _weights(trainer)
    err = capsys.readouterr().err
    assert err.count("warning: passing over damaged checkpoint") == 1 and "step_00000004" in err
    assert finished["damaged"].keys() == finished["normal"].keys()
    for key in finished["normal"]:
        assert torch.equal(finished["damaged"][key], finished["normal"][key]), key
    assert (tmp_path / "damaged" / "checkpoints" / "step_00000004.damaged").is_dir()  # kept, set aside
