"""CUDA paths: device placement, bf16 autocast, fp16 with GradScaler, channels_last, pinned memory, NCCL.

Marked `gpu`: skipped where CUDA is absent (see tests/conftest.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from multigan.core.config import load_config
from multigan.core.logging import read_metrics
from multigan.core.runtime import setup_runtime
from multigan.core.trainer import Trainer
from tests.core.toy import ToyAdapter, ToyConfig

pytestmark = pytest.mark.gpu
ROOT = Path(__file__).resolve().parents[2]


def test_auto_device_and_precision_on_cuda():
    rt = setup_runtime("auto", "auto")
    assert rt.device.type == "cuda" and rt.precision == "bf16"
    with rt.autocast():
        y = torch.nn.Linear(4, 4).cuda()(torch.randn(2, 4, device="cuda"))
    assert y.dtype == torch.bfloat16


@pytest.mark.parametrize("precision", ["bf16", "fp16", "fp32"])
def test_training_on_cuda(tmp_path, precision):
    cfg = load_config(ToyConfig, None, [f"out_dir={tmp_path}", "device=cuda", f"train.precision={precision}"])
    trainer = Trainer(ToyAdapter(cfg), cfg)
    assert trainer.stream.pin_memory
    result = trainer.fit()
    assert result.step == 8 and result.nonfinite_skipped == 0
    assert all(p.is_cuda and torch.isfinite(p).all() for p in trainer.G.parameters())
    assert trainer.scaler_G.is_enabled() == (precision == "fp16")


@pytest.mark.parametrize(
    ("name", "extra"),
    [("image", []), ("video", []), ("text", []), ("video_keywords", []), ("translate", []), ("audio", []),
     ("audio", ["mode=waveform"])],
)  # fmt: skip
def test_recipes_on_cuda_with_channels_last(tmp_path, name, extra):
    import importlib

    recipe = importlib.import_module(f"multigan.recipes.{name.split('_')[0]}")
    tiny = ROOT / "recipes" / "tiny" / f"{name}.yaml"
    args = ["--config", str(tiny), f"out_dir={tmp_path}", "device=cuda", "train.channels_last=true", *extra]
    assert recipe.main([*args, "train.eval_every=2"]) == 0  # the in-training evaluation runs on the GPU too
    assert (tmp_path / "checkpoints").is_dir() and any((tmp_path / "samples").iterdir())
    assert any(r["phase"] == "eval" for r in read_metrics(tmp_path))


def test_nccl_process_group_under_torchrun(tmp_path):
    code = (
        "import torch, torch.distributed as dist\n"
        "from multigan.core.runtime import setup_runtime\n"
        "rt = setup_runtime('cuda')\n"
        "assert rt.distributed and dist.get_backend() == 'nccl'\n"
        "net = torch.nn.Linear(3, 1).cuda(); net(torch.ones(2, 3, device='cuda')).sum().backward()\n"
        "rt.average_gradients(net); rt.barrier(); assert not rt.any_rank(False) and rt.any_rank(True)\n"
        "print('nccl ok')\n"
    )
    script = tmp_path / "nccl_check.py"
    script.write_text(code)
    n = torch.cuda.device_count()
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={n}", "--standalone", str(script)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "nccl ok" in proc.stdout
