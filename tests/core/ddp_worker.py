"""Run under torchrun by test_distributed.py: `python -m torch.distributed.run ... ddp_worker.py MODE OUT`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from multigan.core.config import load_config  # noqa: E402
from multigan.core.runtime import setup_runtime  # noqa: E402
from multigan.core.trainer import Trainer  # noqa: E402
from tests.core.toy import ToyAdapter, ToyConfig  # noqa: E402


def check_gradients(rt, out: Path) -> dict:
    """Averaged per-rank gradients equal one process's gradients over the global batch."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    rt.broadcast_module(net)
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    net(x).pow(2).mean().backward()
    full = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    shard = x.chunk(rt.world_size)[rt.rank]
    net(shard).pow(2).mean().backward()
    rt.average_gradients(net)
    return {"grads_equal": all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(full, net.parameters()))}


def train(rt, out: Path, crash_at: int | None) -> dict:
    def maybe_crash(local_step: int) -> None:
        if crash_at is not None and local_step == crash_at and os.environ.get("TORCHELASTIC_RESTART_COUNT") == "0":
            raise RuntimeError("simulated crash")

    cfg = load_config(ToyConfig, None, [f"out_dir={out}", "train.checkpoint_every=2", "train.steps=8"])
    trainer = Trainer(ToyAdapter(cfg, on_step_end=maybe_crash), cfg, rt)
    result = trainer.fit()
    flat = torch.cat([p.detach().reshape(-1) for p in trainer.G.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(rt.world_size)]
    dist.all_gather(gathered, flat)
    return {
        "weights_equal_across_ranks": all(torch.equal(gathered[0], g) for g in gathered),
        "step": result.step,
        "resumed": result.resumed_from is not None,
    }


def main() -> None:
    mode, out = sys.argv[1], Path(sys.argv[2])
    rt = setup_runtime("cpu")
    assert rt.distributed and dist.get_backend() == "gloo"
    report = {"world_size": rt.world_size}
    if mode == "grads":
        report.update(check_gradients(rt, out))
    elif mode == "train":
        report.update(train(rt, out, None))
    elif mode == "crash":
        report.update(train(rt, out, crash_at=4))
    if rt.is_main:
        (out / f"report_{mode}.json").parent.mkdir(parents=True, exist_ok=True)
        (out / f"report_{mode}.json").write_text(json.dumps(report))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
