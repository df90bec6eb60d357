"""Where and how training runs: device, precision, process group.

Launch with `torchrun` and the rank, world size and local rank come from the environment; NCCL is
used on CUDA and gloo on the CPU. Gradients are averaged across ranks explicitly after each
backward pass (`average_gradients`), the way stylegan2-ada-pytorch does it, rather than through a
DistributedDataParallel wrapper: a GAN step runs D on real and fake batches, backpropagates G's loss
through a frozen D and takes input gradients for R1, which DDP's one-forward-one-backward
bookkeeping handles badly.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from multigan.core.errors import ConfigError


@dataclass
class Runtime:
    device: torch.device
    precision: str = "fp32"  # resolved: bf16 | fp16 | fp32
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True under torchrun (a process group exists), even with one process."""
        return dist.is_available() and dist.is_initialized()

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)

    def autocast(self) -> contextlib.AbstractContextManager:
        dtype = self.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    @contextlib.contextmanager
    def main_process_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (e.g. writes a dataset or tokenizer cache); the others then run it
        and find the cache complete."""
        if not self.is_main:
            self.barrier()
        try:
            yield
        finally:
            if self.is_main:
                self.barrier()

    def any_rank(self, flag: bool) -> bool:
        """True on every rank if `flag` is true on any: for decisions all ranks must share."""
        if not self.distributed:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def average_gradients(self, module: nn.Module) -> None:
        if not self.distributed:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n

    def broadcast_module(self, module: nn.Module) -> None:
        """Make every rank start from rank 0's parameters and buffers."""
        if not self.distributed:
            return
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device: {name!r} was asked for but CUDA is not available here")
        if name == "cuda":
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        try:
            index = int(name.split(":", 1)[1])
        except ValueError:
            raise ConfigError(f"device: {name!r} is not auto, cpu, cuda or cuda:N") from None
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device: {name!r} but only {torch.cuda.device_count()} CUDA device(s) exist")
        return torch.device("cuda", index)
    raise ConfigError(f"device: {name!r} is not auto, cpu, cuda or cuda:N")


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision: fp16 needs a CUDA device (use bf16 or fp32 on the CPU)")
    return precision


def _destroy_process_group() -> None:
    # Ranks leave together: a gloo rank tearing down while a peer still holds its connections can
    # abort ("terminate called without an active exception").
    if dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def launched_by_torchrun() -> bool:
    return all(key in os.environ for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"))


def setup_runtime(device: str = "auto", precision: str = "auto", *, deterministic: bool = False) -> Runtime:
    """Device, precision and (under torchrun) the process group: NCCL on CUDA, gloo on the CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = not deterministic
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    if launched_by_torchrun() and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        kwargs: dict = {"device_id": dev} if dev.type == "cuda" else {}
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True" and attempt != "0":
            # torchrun's agent keeps one store across restarts; without a per-attempt prefix a restarted
            # gloo group finds the dead workers' addresses there and fails to connect.
            store = dist.TCPStore(
                os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world_size, is_master=False,
                timeout=timedelta(minutes=10),
            )  # fmt: skip
            kwargs.update(
                store=dist.PrefixStore(f"multigan/attempt_{attempt}", store), rank=rank, world_size=world_size
            )
        dist.init_process_group(backend=backend, **kwargs)
        atexit.register(_destroy_process_group)
    return Runtime(dev, resolve_precision(precision, dev), rank, world_size, local_rank)
