"""The training loop every modality shares.

The trainer owns optimizers and their steps, the D/G cadence of each phase, lazy regularization,
EMA of the generator, gradient clipping, mixed precision, device placement, gradient averaging
across ranks, checkpoints and resume, non-finite loss handling, signals, metric logging and the
progress bar. The adapter (multigan.core.adapter.Adapter) supplies models, data and losses.
"""

from __future__ import annotations

import math
import random
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from multigan.core.adapter import Adapter, LossOutput, Phase
from multigan.core.callbacks import Callback
from multigan.core.checkpoint import (
    latest_checkpoint,
    load_state,
    load_weights,
    named_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from multigan.core.config import RunConfig, save_config
from multigan.core.data import BatchStream
from multigan.core.ema import EMA
from multigan.core.errors import MultiganError
from multigan.core.export import shape_settings_changed, write_info
from multigan.core.health import DIVERSITY, CollapseGuard, QuickMetric
from multigan.core.logging import MetricLogger
from multigan.core.runtime import Runtime, setup_runtime


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def channels_last_(module: nn.Module) -> None:
    """Channels-last layout for the 4-D weights (2-D convs); 3-D conv weights keep theirs."""
    for param in module.parameters():
        if param.dim() == 4:
            param.data = param.data.contiguous(memory_format=torch.channels_last)


def lr_factor(schedule: str, step: int, total: int, warmup: int) -> float:
    warm = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    progress = min(step / max(total, 1), 1.0)
    if schedule == "linear":
        return warm * (1.0 - progress)
    if schedule == "cosine":
        return warm * 0.5 * (1.0 + math.cos(math.pi * progress))
    return warm


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    resumed_from: Path | None
    interrupted: bool
    nonfinite_skipped: int
    collapse_flags: list[int]  # steps whose in-training evaluation was flagged (train.eval_every)
    stopped_for_collapse: bool


class Trainer:
    def __init__(
        self,
        adapter: Adapter,
        cfg: RunConfig,
        runtime: Runtime | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        echo: Callable[[str], None] | None = None,
        quick_metric: QuickMetric | None = None,
    ) -> None:
        """`quick_metric`: what `train.eval_every` measures (the modality's `evaluate.quick_metric`)."""
        self.adapter, self.cfg = adapter, cfg
        self.callbacks = list(callbacks)
        self.logger: MetricLogger | None = None  # open while fit() runs
        tc = cfg.train
        self.rt = runtime or setup_runtime(cfg.device, tc.precision, deterministic=tc.deterministic)
        self.run_dir = Path(cfg.out_dir)
        self.ckpt_root = self.run_dir / "checkpoints"
        self._echo = echo or tqdm.write

        seed_everything(cfg.seed)
        networks = adapter.build_models()
        self.G, self.D = networks.G.to(self.rt.device), networks.D.to(self.rt.device)
        if tc.channels_last and self.rt.device.type == "cuda":
            channels_last_(self.G)
            channels_last_(self.D)
        if tc.sync_batchnorm and self.rt.distributed and self.rt.device.type == "cuda":
            self.G = nn.SyncBatchNorm.convert_sync_batchnorm(self.G)
            self.D = nn.SyncBatchNorm.convert_sync_batchnorm(self.D)
        self.rt.broadcast_module(self.G)
        self.rt.broadcast_module(self.D)
        if self.rt.world_size > 1:  # same initial weights everywhere, different noise per rank
            seed_everything(cfg.seed + 1_000_003 * self.rt.rank)
        self.ema = EMA(self.G, tc.ema_decay) if tc.ema_decay > 0 else None
        # Networks an adapter keeps besides G and D (e.g. SeqGAN's lagged rollout policy): moved and
        # checkpointed with them, never optimized by the trainer.
        self.extra: dict[str, nn.Module] = {k: m.to(self.rt.device) for k, m in networks.extra.items()}
        if set(self.extra) & {"G", "D", "G_ema"}:
            raise MultiganError(f"extra_modules may not be named G, D or G_ema: {sorted(self.extra)}")
        # The modules the losses call; compiled ones share parameters with G and D.
        self.G_run = cast(nn.Module, torch.compile(self.G)) if tc.compile else self.G
        self.D_run = cast(nn.Module, torch.compile(self.D)) if tc.compile else self.D

        self.phases: list[Phase] = adapter.phases(self.G_run, self.D_run)
        self.total_steps = sum(p.steps for p in self.phases)
        betas = (tc.beta1, tc.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=tc.lr_g, betas=betas, weight_decay=tc.weight_decay)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=tc.lr_d, betas=betas, weight_decay=tc.weight_decay)
        fp16 = self.rt.precision == "fp16"
        self.scaler_G = torch.amp.GradScaler(self.rt.device.type, enabled=fp16)
        self.scaler_D = torch.amp.GradScaler(self.rt.device.type, enabled=fp16)
        with self.rt.main_process_first():  # rank 0 builds any on-disk data cache before the others read it
            dataset = adapter.dataset()
        self.stream = BatchStream(
            dataset,
            tc.batch_size,
            adapter.collate,
            seed=cfg.seed,
            rank=self.rt.rank,
            world_size=self.rt.world_size,
            num_workers=tc.num_workers,
            pin_memory=self.rt.device.type == "cuda",
        )
        self.step = 0
        self.d_updates = 0
        self.g_updates = 0
        self.nonfinite_skipped = 0
        self._nonfinite_in_a_row = 0
        self._reloaded_since_good = False
        self._stop_signal: str | None = None
        if tc.eval_every and quick_metric is None:
            raise MultiganError("train.eval_every: this trainer was given no quick metric to evaluate")
        self.quick_metric = quick_metric if tc.eval_every else None
        self.guard = CollapseGuard(lower_is_better=quick_metric.lower_is_better if quick_metric else True)
        self._rolled_back = False  # since the last new best
        self._stop_for_collapse = False
        self.collapse_flags: list[int] = []  # steps of flagged evaluations in this fit()

    # ----------------------------------------------------------------------------- state
    def echo(self, message: str) -> None:
        if self.rt.is_main:
            self._echo(message)

    def log_metrics(self, values: dict[str, Any], **fields: Any) -> None:
        """A record at the current step in metrics.jsonl (rank 0; during fit)."""
        if self.logger is not None:
            self.logger.log(self.step, values, **fields)

    def modules(self) -> dict[str, nn.Module]:
        mods = {"G": self.G, "D": self.D}
        if self.ema is not None:
            mods["G_ema"] = self.ema.model
        mods.update(self.extra)
        return mods

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "d_updates": self.d_updates,
            "g_updates": self.g_updates,
            "nonfinite_skipped": self.nonfinite_skipped,
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "scaler_G": self.scaler_G.state_dict(),
            "scaler_D": self.scaler_D.state_dict(),
            "data": self.stream.state_dict(),
            "rng": rng_state(),
            "health": self.guard.state_dict(),
        }

    def save(self, name: str | None = None) -> Path | None:
        """Write a checkpoint of the current step, or the named one (`best`, a phase's `keep_as`);
        rank 0 writes, every rank waits for it."""
        self.rt.barrier()
        path = None
        if self.rt.is_main:
            path = save_checkpoint(
                self.ckpt_root,
                self.step,
                self.modules(),
                self.state_dict(),
                keep=self.cfg.train.keep_checkpoints,
                name=name,
            )
        self.rt.barrier()
        return path

    def load(self, path: Path) -> None:
        load_weights(path, self.modules())
        state = load_state(path)
        self.step = int(state["step"])
        self.d_updates, self.g_updates = int(state["d_updates"]), int(state["g_updates"])
        self.nonfinite_skipped = int(state["nonfinite_skipped"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.scaler_G.load_state_dict(state["scaler_G"])
        self.scaler_D.load_state_dict(state["scaler_D"])
        self.stream.load_state_dict(state["data"])
        if "health" in state:  # checkpoints before multigan 0.3 have none
            self.guard.load_state_dict(state["health"])
        if self.rt.world_size > 1:  # rank 0's RNG state was saved; keep the others distinct
            seed_everything(self.cfg.seed + 1_000_003 * self.rt.rank + self.step)
        else:
            set_rng_state(state["rng"])

    def resume_if_possible(self) -> Path | None:
        path = latest_checkpoint(self.ckpt_root)
        if path is not None:
            try:
                self.load(path)
            except MultiganError as err:
                changed = shape_settings_changed(self.run_dir, self.cfg)
                if not changed:
                    raise
                raise MultiganError(
                    f"{err}. The run in {self.run_dir} was trained with {' '.join(changed)}: add that to the "
                    "command to resume it, or train into another out_dir"
                ) from None
            self.echo(f"Resumed from {path} at step {self.step}")
        return path

    # ----------------------------------------------------------------------------- steps
    def phase_at(self, step: int) -> tuple[Phase, int]:
        for phase in self.phases:
            if step < phase.steps:
                return phase, step
            step -= phase.steps
        raise IndexError("step past the last phase")

    def _start_phase(self, phase: Phase) -> None:
        """Before a phase's first step (never on resuming inside it): reset the optimizers it asks for."""
        optimizers = {"G": self.opt_G, "D": self.opt_D}
        for name in phase.fresh_optimizers:
            if name not in optimizers:
                raise MultiganError(f"phase {phase.name!r}: fresh_optimizers takes 'G' and 'D', not {name!r}")
            optimizers[name].state.clear()

    def _set_lr(self, phase: Phase) -> None:
        tc = self.cfg.train
        factor = lr_factor(tc.lr_schedule, self.step, self.total_steps, tc.warmup_steps)
        for opt, base in ((self.opt_G, phase.lr_g or tc.lr_g), (self.opt_D, phase.lr_d or tc.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    def _update(
        self,
        name: str,
        net: nn.Module,
        opt: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        compute: Callable[[], LossOutput],
    ) -> dict[str, Any] | None:
        """One optimizer step on `net` (G or D, `name`); its logs plus `grad_norm_<name>`, the global
        gradient norm before clipping. None when the loss was non-finite on any rank (step skipped)."""
        with self.rt.autocast():
            out = compute()
        if self.rt.any_rank(not bool(torch.isfinite(out.loss.detach()).all())):
            opt.zero_grad(set_to_none=True)
            return None
        scaler.scale(out.loss).backward()
        self.rt.average_gradients(net)
        scaler.unscale_(opt)  # a no-op unless fp16: the norm is in the loss's own units
        if self.cfg.train.grad_clip > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(net.parameters(), self.cfg.train.grad_clip)
        else:
            grad_norm = torch.nn.utils.get_total_norm([p.grad for p in net.parameters() if p.grad is not None])
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        return {**out.logs, f"grad_norm_{name}": grad_norm.detach()}

    def _next_batch(self) -> Any:
        return self.adapter.to_device(next(self.stream), self.rt.device)

    def train_step(self, phase: Phase) -> tuple[dict[str, Any], bool]:
        """One phase step: d_steps D updates then g_steps G updates. Returns (logs, all finite)."""
        logs: dict[str, Any] = {}
        finite = True
        lc = self.cfg.loss
        batch = None
        if phase.d_loss is not None:
            d_loss = phase.d_loss
            for _ in range(phase.d_steps):
                batch = self._next_batch()
                regularize = lc.r1_gamma > 0 and self.d_updates % lc.r1_every == 0
                out = self._update(
                    "D",
                    self.D,
                    self.opt_D,
                    self.scaler_D,
                    partial(d_loss, self.G_run, self.D_run, batch, regularize=regularize),
                )
                self.d_updates += 1
                finite &= out is not None
                logs.update(out or {})
        if phase.g_loss is not None:
            g_loss = phase.g_loss
            self.D.requires_grad_(False)
            try:
                for i in range(phase.g_steps):
                    if not (i == 0 and phase.g_reuses_d_batch and batch is not None):
                        batch = self._next_batch()
                    out = self._update(
                        "G", self.G, self.opt_G, self.scaler_G, partial(g_loss, self.G_run, self.D_run, batch)
                    )
                    finite &= out is not None
                    logs.update(out or {})
                    if out is not None:
                        self.g_updates += 1
                        if self.ema is not None:
                            self.ema.update(self.G, copy_only=self.step < self.cfg.train.ema_start)
            finally:
                self.D.requires_grad_(True)
        return logs, finite

    def _handle_nonfinite(self, finite: bool) -> None:
        if finite:
            self._nonfinite_in_a_row = 0
            self._reloaded_since_good = False
            return
        self.nonfinite_skipped += 1
        self._nonfinite_in_a_row += 1
        self.echo(f"step {self.step}: non-finite loss, update skipped ({self._nonfinite_in_a_row} in a row)")
        tc = self.cfg.train
        if self._nonfinite_in_a_row < tc.max_nonfinite:
            return
        last = latest_checkpoint(self.ckpt_root)
        if tc.on_nonfinite == "reload" and last is not None and not self._reloaded_since_good:
            self.load(last)
            self._nonfinite_in_a_row = 0
            self._reloaded_since_good = True
            self.echo(f"{tc.max_nonfinite} non-finite losses in a row: reloaded {last} (step {self.step})")
            return
        raise MultiganError(
            f"training stopped: {self._nonfinite_in_a_row} non-finite losses in a row at step {self.step} "
            f"(last checkpoint: {last or 'none'}); try a lower learning rate or train.precision=fp32"
        )

    # ----------------------------------------------------------------------------- samples
    def sample_model(self) -> nn.Module:
        return self.ema.model if self.ema is not None else self.G

    @torch.no_grad()
    def write_samples(self) -> None:
        if not self.rt.is_main:
            return
        model = self.sample_model()
        was_training = model.training
        model.eval()
        devices = [self.rt.device] if self.rt.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            samples = self.adapter.sample(model, self.cfg.train.num_samples, seed=self.cfg.seed)
            self.adapter.write_samples(samples, self.run_dir / "samples", self.step)
        model.train(was_training)

    # ----------------------------------------------------------------------------- health
    def evaluate(self) -> dict[str, float]:
        """The quick metric of the sampling generator at this step, logged as `eval/<key>`; keeps
        checkpoints/best and acts on a collapse flag as `train.on_collapse` says."""
        assert self.quick_metric is not None
        metric = self.quick_metric
        model = self.sample_model()
        was_training = model.training
        model.eval()
        devices = [self.rt.device] if self.rt.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            values = metric.measure(model)
        model.train(was_training)
        score = values.get(metric.name) if metric.name else None
        improved, problem = self.guard.update(self.step, score, values.get(DIVERSITY))
        self.log_metrics({f"eval/{k}": v for k, v in values.items()}, phase="eval", collapse_flag=problem is not None)
        if metric.name and self.rt.any_rank(improved):
            self.save("best")
            self._rolled_back = False
        if self.rt.any_rank(problem is not None):
            self.collapse_flags.append(self.step)
            self._on_collapse(problem or "flagged on another rank")
        return values

    def _on_collapse(self, problem: str) -> None:
        action = self.cfg.train.on_collapse
        self.echo(f"warning: step {self.step}: training may have collapsed: {problem} (train.on_collapse={action})")
        if action == "warn":
            return
        best = named_checkpoint(self.ckpt_root, "best")
        if action == "rollback" and best is not None and not self._rolled_back:
            flagged_at = self.step
            self.load(best)
            self._rolled_back = True
            self.echo(f"rolled back from step {flagged_at} to {best} (step {self.step})")
            return
        self._stop_for_collapse = True

    # ----------------------------------------------------------------------------- loop
    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum: int, frame: Any) -> None:
            if self._stop_signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self._stop_signal = signal.Signals(signum).name

        previous: dict[int, Any] = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, request_stop)
        return previous

    def fit(self) -> TrainResult:
        resumed = self.resume_if_possible()
        tc = self.cfg.train
        if self.rt.is_main:
            (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
            save_config(self.cfg, self.run_dir / "config.yaml")
            write_info(self.run_dir, self.cfg.modality, "run")
        logger = self.logger = MetricLogger(self.run_dir, enabled=self.rt.is_main)
        previous_handlers = self._install_signal_handlers()
        sums: dict[str, Any] = {}
        counts: dict[str, int] = {}
        last_saved = self.step if resumed else -1
        interrupted = False
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            disable=None if self.rt.is_main else True,
            dynamic_ncols=True,
            unit="step",
        )
        try:
            self.G.train()
            self.D.train()
            if self.quick_metric is not None and self.quick_metric.name is None:
                self.echo(f"train.eval_every: {self.quick_metric.why_none}; no checkpoints/best is kept")
            while self.step < self.total_steps:
                phase, local_step = self.phase_at(self.step)
                if local_step == 0:
                    self._start_phase(phase)
                bar.set_description(phase.name, refresh=False)
                self._set_lr(phase)
                logs, finite = self.train_step(phase)
                self.step += 1
                bar.update(1)
                if phase.on_step_end is not None:
                    phase.on_step_end(local_step)
                self._handle_nonfinite(finite)
                for k, v in logs.items():
                    sums[k] = sums[k] + v if k in sums else v
                    counts[k] = counts.get(k, 0) + 1
                phase_ends = local_step == phase.steps - 1  # a record never mixes two phases
                if self.step % tc.log_every == 0 or self.step == self.total_steps or phase_ends:
                    means = {k: v / counts[k] for k, v in sums.items()}
                    floats = logger.log(self.step, means, phase=phase.name, nonfinite_skipped=self.nonfinite_skipped)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in floats.items()}, refresh=False)
                    sums, counts = {}, {}
                    for callback in self.callbacks:
                        callback.on_log(self, self.step, floats)
                for callback in self.callbacks:
                    callback.on_step_end(self, phase, local_step)
                if phase_ends:
                    for callback in self.callbacks:
                        callback.on_phase_end(self, phase)
                    if phase.keep_as:
                        self.save(phase.keep_as)
                if tc.sample_every and self.step % tc.sample_every == 0 and self.step < self.total_steps:
                    self.write_samples()
                if tc.checkpoint_every and self.step % tc.checkpoint_every == 0:
                    self.save()
                    last_saved = self.step
                if self.quick_metric is not None and (self.step % tc.eval_every == 0 or self.step == self.total_steps):
                    step_before = self.step
                    self.evaluate()
                    if self.step != step_before:  # rolled back
                        bar.n = self.step
                        bar.refresh()
                    if self._stop_for_collapse:
                        break
                if self.rt.any_rank(self._stop_signal is not None):
                    interrupted = True
                    break
            if last_saved != self.step:
                self.save()
                last_saved = self.step
            if interrupted:
                self.echo(
                    f"Received {self._stop_signal or 'a stop signal'}: saved a checkpoint at step {self.step} "
                    f"in {self.ckpt_root}; run the same command again to continue."
                )
            else:
                self.write_samples()
            if self._stop_for_collapse:
                best = named_checkpoint(self.ckpt_root, "best")
                self.echo(
                    f"Stopped at step {self.step} (train.on_collapse={tc.on_collapse}); best checkpoint: "
                    f"{best or 'none'}"
                )
            elif self.quick_metric is not None and self.quick_metric.name and self.guard.best is not None:
                self.echo(
                    f"best eval/{self.quick_metric.name}={self.guard.best:.4g} at step {self.guard.best_step}: "
                    f"{self.ckpt_root / 'best'}"
                )
        finally:
            bar.close()
            logger.close()
            self.logger = None
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
        return TrainResult(
            self.run_dir,
            self.step,
            resumed,
            interrupted,
            self.nonfinite_skipped,
            list(self.collapse_flags),
            self._stop_for_collapse,
        )
