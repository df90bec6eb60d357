"""Two gloo processes on the CPU through torchrun (PyTorch's own launcher)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from multigan.core.checkpoint import checkpoint_dirs
from multigan.core.logging import read_metrics

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")


def torchrun(*args: str, restarts: int = 0, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
           f"--max-restarts={restarts}", *args]  # fmt: skip
    for _ in range(3):
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        # Known flake, not ours: on this CPU about 1 in 6 two-rank gloo jobs aborts in PyTorch's C++
        # teardown at interpreter exit, after every output is written (the ranks' work is done). Run
        # again (a rerun resumes from the final checkpoint); any other failure fails the test.
        if proc.returncode == 0 or "terminate called without an active exception" not in proc.stderr:
            break
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_gradients_equal_one_process_over_the_global_batch(tmp_path):
    torchrun(str(WORKER), "grads", str(tmp_path))
    report = json.loads((tmp_path / "report_grads.json").read_text())
    assert report == {"world_size": 2, "grads_equal": True}


def test_two_ranks_one_run_directory_and_resume(tmp_path):
    torchrun(str(WORKER), "train", str(tmp_path))
    report = json.loads((tmp_path / "report_train.json").read_text())
    assert report["weights_equal_across_ranks"] and report["step"] == 8
    assert [p.name for p in checkpoint_dirs(tmp_path / "checkpoints")][-1] == "step_00000008"
    assert [r["step"] for r in read_metrics(tmp_path)] == list(range(1, 9))  # one writer
    assert not list(tmp_path.glob("checkpoints/.tmp-*"))


def test_restart_continues_from_latest_checkpoint(tmp_path):
    torchrun(str(WORKER), "crash", str(tmp_path), restarts=1)
    report = json.loads((tmp_path / "report_crash.json").read_text())
    assert report["resumed"] and report["step"] == 8 and report["weights_equal_across_ranks"]


@pytest.mark.slow
def test_image_recipe_under_torchrun(tmp_path):
    tiny = ROOT / "recipes" / "tiny" / "image.yaml"
    proc = torchrun("-m", "multigan.recipes.image", "--config", str(tiny), f"out_dir={tmp_path}", "device=cpu")
    assert proc.stdout.count("Trained to step 6") == 1  # only rank 0 talks
    assert (tmp_path / "samples" / "step_00000006.png").is_file()
    torchrun("-m", "multigan.recipes.image", "--config", str(tiny), f"out_dir={tmp_path}", "train.steps=8")
    assert checkpoint_dirs(tmp_path / "checkpoints")[-1].name == "step_00000008"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["text", "video"])
def test_text_and_video_recipes_under_torchrun(tmp_path, name):
    tiny = ROOT / "recipes" / "tiny" / f"{name}.yaml"
    proc = torchrun("-m", f"multigan.recipes.{name}", "--config", str(tiny), f"out_dir={tmp_path}", "device=cpu")
    assert proc.stdout.count("Trained to step") == 1  # only rank 0 talks
    assert checkpoint_dirs(tmp_path / "checkpoints") and not list(tmp_path.glob("checkpoints/.tmp-*"))
