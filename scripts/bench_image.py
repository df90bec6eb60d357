"""Image GAN benchmark: what the core costs, and what each loss gives on the embedded digits.

    python scripts/bench_image.py                 # the full run (about 15 minutes on 2 idle CPU cores)
    python scripts/bench_image.py --quick         # a smoke run of a few minutes; writes nothing unless --write
    python scripts/bench_image.py --steps 2000 --repeats 12 --speed-steps 100   # longer, steadier

1. Speed: the multigan Trainer against a hand-written plain PyTorch loop over the same nets
   (multigan.image.models Generator/Discriminator at the recipe's default sizes), the same batch
   size, optimizers (Adam, same lr and betas), loss (non-saturating), EMA of G and frozen D during
   G's step. Both run in this one process, in alternating order (ABBA...) so machine noise hits
   both alike; steps/s of each repeat, the median of each, and the ratio plain / trainer.
   Each measurement starts after `--warmup` steps and stops at the last step, so it excludes
   building the nets, the trainer's end-of-run checkpoint and samples; it includes the trainer's
   per-step work (data stream, LR setting, finiteness checks, loss logging, progress bar).
2. Quality: the recipe's default config trained for a fixed budget of `--steps` steps (one step =
   n_critic D updates + one G update) with each loss kind, then scored by
   multigan.image.evaluate.evaluate_generator (EMA generator, 2000 samples): digits-FID, KID,
   classes present, KL of the generated class histogram from uniform; and digits-FID of the raw G.

Runs on one torch thread unless --threads says otherwise (see main()).

Prints tables and replaces the "## Image" section of docs/BENCHMARKS.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # machine.py, beside this script

from machine import cpu_model, load_average  # noqa: E402

from multigan.core.adapter import Phase  # noqa: E402
from multigan.core.callbacks import Callback  # noqa: E402
from multigan.core.config import LOSS_KINDS, load_config  # noqa: E402
from multigan.core.trainer import Trainer  # noqa: E402
from multigan.image.adapter import ImageAdapter  # noqa: E402
from multigan.image.config import ImageConfig  # noqa: E402
from multigan.image.data import TensorImages, load_images  # noqa: E402
from multigan.image.evaluate import evaluate_generator  # noqa: E402
from multigan.image.models import Discriminator, Generator  # noqa: E402
from multigan.metrics.image import evaluate_images  # noqa: E402

SECTION = "## Image"
HEADER = (
    "# Benchmarks\n\n"
    "Figures measured by the scripts in `scripts/` (one section per modality; each script replaces only\n"
    "its own section). Each section gives the exact command, the machine and the versions; compare\n"
    "figures only within one section, where they come from one run on one machine.\n"
)


# ----------------------------------------------------------------------------- configs


def make_config(out_dir: str, overrides: list[str]) -> ImageConfig:
    """The recipe's default config (as `python -m multigan.recipes.image` runs it) plus overrides."""
    return load_config(ImageConfig, None, [f"out_dir={out_dir}", *overrides])


QUIET = ["train.checkpoint_every=0", "train.sample_every=0"]


# ----------------------------------------------------------------------------- speed


class StepClock(Callback):
    """Wall and process CPU time between the end of step `warmup` and the end of step `total`.

    CPU time is this process's alone, so on a shared machine it leaves out the time other jobs held
    the cores; with one torch thread it is the steadier measure of work done.
    """

    def __init__(self, warmup: int, total: int) -> None:
        self.warmup, self.total = warmup, total
        self.start = self.stop = self.cpu_start = self.cpu_stop = 0.0

    def on_step_end(self, trainer: Trainer, phase: Phase, phase_step: int) -> None:
        self(phase_step)

    def __call__(self, step: int) -> None:  # step: 0-based index of the step just finished
        if step + 1 == self.warmup:
            self.start, self.cpu_start = time.perf_counter(), time.process_time()
        elif step + 1 == self.total:
            self.stop, self.cpu_stop = time.perf_counter(), time.process_time()

    @property
    def rates(self) -> tuple[float, float]:
        """(steps per wall second, steps per CPU second)."""
        n = self.total - self.warmup
        return n / (self.stop - self.start), n / (self.cpu_stop - self.cpu_start)


def run_trainer(data: TensorImages, work: Path, steps: int, warmup: int) -> tuple[float, float]:
    cfg = make_config(str(work), [*QUIET, f"train.steps={steps}", "train.num_samples=1"])
    adapter = ImageAdapter(cfg, data=data)
    clock = StepClock(warmup, steps)
    if Trainer(adapter, cfg, callbacks=[clock], echo=lambda _: None).fit().interrupted:
        raise SystemExit("interrupted")
    return clock.rates


def run_plain(data: TensorImages, steps: int, warmup: int) -> tuple[float, float]:
    """A plain PyTorch GAN loop: same nets, batch, optimizers, loss and EMA as the trainer's run."""
    cfg = make_config("unused", [f"data.channels={data.channels}"])
    m, t = cfg.model, cfg.train
    torch.manual_seed(cfg.seed)
    G, D = Generator(cfg), Discriminator(cfg)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_G = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2))
    opt_D = torch.optim.Adam(D.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2))
    loader = DataLoader(data, batch_size=t.batch_size, shuffle=True, drop_last=True)
    batches = iter(loader)
    clock = StepClock(warmup, steps)
    G.train()
    D.train()
    for step in range(steps):
        try:
            real, _ = next(batches)
        except StopIteration:
            batches = iter(loader)
            real, _ = next(batches)
        real = real.float().div_(127.5).sub_(1.0)
        n = real.shape[0]
        # D step
        with torch.no_grad():
            fake = G(torch.randn(n, m.z_dim))
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_D.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_D.step()
        # G step through a frozen D
        D.requires_grad_(False)
        g_loss = F.softplus(-D(G(torch.randn(n, m.z_dim)))).mean()
        opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_G.step()
        D.requires_grad_(True)
        # EMA of G (BN statistics copied)
        with torch.no_grad():
            for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                p_ema.lerp_(p, 1.0 - t.ema_decay)
            for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)
        if (step + 1) % t.log_every == 0:
            _ = d_loss.item(), g_loss.item()
        clock(step)
    return clock.rates


@dataclass
class SpeedResult:
    trainer: list[tuple[float, float]]  # per repeat: (steps per wall s, steps per CPU s)
    plain: list[tuple[float, float]]

    def ratios(self, which: int) -> list[float]:  # per repeat: plain / trainer (> 1: the trainer is slower)
        return [p[which] / t[which] for p, t in zip(self.plain, self.trainer)]


def bench_speed(data: TensorImages, steps: int, warmup: int, repeats: int, log: Callable[[str], None]) -> SpeedResult:
    result = SpeedResult([], [])
    with tempfile.TemporaryDirectory(prefix="bench_image_") as tmp:
        for r in range(repeats):
            order = ("trainer", "plain") if r % 2 == 0 else ("plain", "trainer")
            for which in order:
                if which == "trainer":
                    rates = run_trainer(data, Path(tmp) / f"speed_{r}", steps, warmup)
                    result.trainer.append(rates)
                else:
                    rates = run_plain(data, steps, warmup)
                    result.plain.append(rates)
                log(
                    f"  repeat {r + 1}/{repeats} {which:7s} {rates[0]:7.2f} steps/s wall {rates[1]:7.2f} steps/CPU-s"
                    f"   (load {load_average()})"
                )
    return result


# ----------------------------------------------------------------------------- quality


def digit_scores(adapter: ImageAdapter, G: torch.nn.Module, num_fake: int) -> dict[str, float]:
    was_training = G.training
    G.eval()
    try:
        report = evaluate_generator(adapter.pipeline(G), adapter.data.images, num_fake=num_fake, seed=0)
        return dict(report.scores["digits-classifier (128-d)"])
    finally:
        G.train(was_training)


@dataclass
class QualityRow:
    kind: str
    n_critic: int
    steps: int
    d_updates: int
    wall_s: float
    scores: dict[str, float]


def bench_quality(
    data: TensorImages,
    steps: int,
    num_fake: int,
    wgan_n_critic: int,
    kinds: list[str],
    work: Path,
    log: Callable[[str], None],
) -> tuple[list[QualityRow], dict[str, float]]:
    rows = []
    for kind in kinds:
        n_critic = wgan_n_critic if kind == "wgan-gp" else 1
        out = work / kind
        cfg = make_config(
            str(out), ["train.checkpoint_every=0", "train.sample_every=0", f"train.steps={steps}",
                       f"loss.kind={kind}", f"train.n_critic={n_critic}"],
        )  # fmt: skip
        adapter = ImageAdapter(cfg, data=data)
        start = time.perf_counter()
        trainer = Trainer(adapter, cfg, echo=lambda _: None)
        if trainer.fit().interrupted:
            raise SystemExit("interrupted")
        wall = time.perf_counter() - start
        scores = digit_scores(adapter, trainer.sample_model(), num_fake)
        scores["FID_G"] = digit_scores(adapter, trainer.G, num_fake)["FID"]  # the raw G, without EMA
        rows.append(QualityRow(kind, n_critic, steps, trainer.d_updates, wall, scores))
        log(
            f"  {kind:13s} n_critic={n_critic} {wall:6.0f} s  FID={scores['FID']:.2f} KID={scores['KID']:.4f} "
            f"classes={scores['classes_present']} KL={scores['class_KL_from_uniform']:.3f} "
            f"FID(raw G)={scores['FID_G']:.2f}  (load {load_average()})"
        )
    # The floor: two disjoint halves of the real digits against each other.
    real = data.images.float() / 127.5 - 1
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(real.shape[0], generator=g)
    half = real.shape[0] // 2
    reference = evaluate_images(real[perm[:half]], real[perm[half:]])
    floor = dict(reference.scores["digits-classifier (128-d)"], n_real=reference.n_real, n_fake=reference.n_fake)
    return rows, floor


# ----------------------------------------------------------------------------- machine + report


def machine() -> dict[str, str]:
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    gpu = "none"
    if torch.cuda.is_available():
        gpu = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    return {
        "CPU": f"{cpu_model()}, {cores} cores ({usable} usable, torch threads {torch.get_num_threads()})",
        "GPU": gpu,
        "Python": platform.python_version(),
        "torch": torch.__version__,
        "OS": platform.platform(),
    }


def speed_table(speed: SpeedResult, steps: int, warmup: int) -> list[str]:
    wall, cpu = speed.ratios(0), speed.ratios(1)
    lines = [
        f"Steps {warmup + 1}-{steps} of each run timed (one step = 1 D update + 1 G update, batch 64, 32x32); "
        "steps per second of wall time and per second of this process's CPU time.",
        "",
        "| repeat | trainer steps/s | plain steps/s | plain / trainer | trainer steps/CPU-s | plain steps/CPU-s "
        "| plain / trainer (CPU) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (t, p, rw, rc) in enumerate(zip(speed.trainer, speed.plain, wall, cpu), 1):
        lines.append(f"| {i} | {t[0]:.2f} | {p[0]:.2f} | {rw:.3f} | {t[1]:.2f} | {p[1]:.2f} | {rc:.3f} |")

    def med(values: list[float]) -> str:
        return f"**{statistics.median(values):.3f}**"

    lines.append(
        f"| median | {med([t[0] for t in speed.trainer])} | {med([p[0] for p in speed.plain])} | {med(wall)} "
        f"| {med([t[1] for t in speed.trainer])} | {med([p[1] for p in speed.plain])} | {med(cpu)} |"
    )
    lines += [
        "",
        f"**Core overhead** (median of the per-repeat ratios): **{(statistics.median(cpu) - 1) * 100:+.1f}% in CPU "
        f"time** (ratios {min(cpu):.3f}-{max(cpu):.3f}); {(statistics.median(wall) - 1) * 100:+.1f}% in wall time "
        f"(ratios {min(wall):.3f}-{max(wall):.3f}). On one thread the process's CPU time counts only the work done;"
        " wall time also counts the time other jobs held the cores, which swings from one run to the next on a"
        " shared machine. A ratio above 1 means the trainer is slower.",
    ]
    return lines


def quality_table(rows: list[QualityRow], floor: dict[str, float], num_fake: int) -> list[str]:
    lines = [
        f"Default config (`python -m multigan.recipes.image`), `loss.kind` varied, one seed. Scores of the EMA "
        f"generator (what `generate` and `evaluate` use), {num_fake} samples "
        "against the 1,797 digits; digits-FID/KID use the toolkit's digit classifier (128-d features).",
        "",
        "| loss.kind | n_critic | steps | D updates | wall s | digits-FID | KID | classes present | class KL "
        "| digits-FID, raw G |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r.scores
        lines.append(
            f"| {r.kind} | {r.n_critic} | {r.steps} | {r.d_updates} | {r.wall_s:.0f} | {s['FID']:.2f} | "
            f"{s['KID']:.4f} | {s['classes_present']} | {s['class_KL_from_uniform']:.3f} | {s['FID_G']:.2f} |"
        )
    lines.append(
        f"| *reference: real digits, one half against the other* | | | | | {floor['FID']:.2f} | {floor['KID']:.4f} | "
        f"{floor['classes_present']} | {floor['class_KL_from_uniform']:.3f} | |"
    )
    lines += [
        "",
        f"The reference row scores two disjoint halves of the real digits ({floor['n_real']} against "
        f"{floor['n_fake']} images) against each other. FID is biased upwards at small n, so it is not a lower "
        f"bound for the rows above ({num_fake} against {floor['n_real'] + floor['n_fake']}); a generator that "
        "copies its training images can also score below it.",
    ]
    return lines


def replace_section(text: str, section: str, body: str) -> str:
    """`text` with the markdown section starting at the line `section` (up to the next '## ' line)
    replaced by `body`, or `body` appended when there is none. Other sections are kept as they are."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == section), None)
    body = body.rstrip("\n") + "\n"
    if start is None:
        head = text.rstrip("\n")
        return (head + "\n\n" if head else "") + body
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    after = "".join(lines[end:])
    return "".join(lines[:start]) + body + ("\n" + after if after else "")


def write_section(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.is_file() else HEADER  # read right before writing
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(replace_section(text, SECTION, body))
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=None, help="quality: training steps per loss kind (default 700)")
    p.add_argument("--repeats", type=int, default=None, help="speed: alternating repeats of each loop (default 8)")
    p.add_argument("--speed-steps", type=int, default=None, help="speed: steps per timed run (default 70)")
    p.add_argument("--warmup", type=int, default=None, help="speed: untimed steps at the start of each run")
    p.add_argument("--num-fake", type=int, default=None, help="quality: generated images scored (default 2000)")
    p.add_argument("--wgan-n-critic", type=int, default=5, help="D updates per G update for wgan-gp (paper: 5)")
    p.add_argument("--kinds", default=",".join(LOSS_KINDS), help="loss kinds to train (comma-separated)")
    p.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (default 1; 0: torch's choice, one per core)"
    )
    p.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run; writes no report unless --write")
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--write", action="store_true", help="write docs/BENCHMARKS.md even with --quick")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = p.parse_args(argv)
    quick = args.quick
    args.steps = args.steps or (20 if quick else 700)
    args.repeats = args.repeats or (2 if quick else 8)
    args.speed_steps = args.speed_steps or (30 if quick else 70)
    args.warmup = args.warmup if args.warmup is not None else (5 if quick else 10)
    args.num_fake = args.num_fake or (500 if quick else 2000)
    if args.speed_steps <= args.warmup:
        p.error("--speed-steps must be larger than --warmup")
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    for k in args.kinds:
        if k not in LOSS_KINDS:
            p.error(f"--kinds: {k!r} is not one of {', '.join(LOSS_KINDS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        # One thread by default: on a shared machine torch's one thread per core oversubscribes the
        # cores and step times swing 10-30x from one run to the next (measured on a 2-core box under
        # other jobs); with one thread they hold steady, and the trainer/plain ratio stays meaningful.
        torch.set_num_threads(args.threads)
    command = "python scripts/bench_image.py" + "".join(" " + shlex.quote(a) for a in (argv or sys.argv[1:]))
    info = machine()
    print(f"{command}\n" + "\n".join(f"{k}: {v}" for k, v in info.items()))
    print(f"load average at start: {load_average()}")
    data = load_images(make_config("unused", []).data)
    started = time.perf_counter()
    load_start = load_average()

    out: list[str] = []
    if not args.skip_speed:
        print(f"\nSpeed: {args.repeats} alternating repeats of {args.speed_steps} steps ({args.warmup} untimed)")
        speed = bench_speed(data, args.speed_steps, args.warmup, args.repeats, print)
        table = speed_table(speed, args.speed_steps, args.warmup)
        print("\n" + "\n".join(table))
        out += ["### Trainer against a plain PyTorch loop", "", *table, ""]
    if not args.skip_quality:
        print(f"\nQuality: {args.steps} steps per loss kind")
        with tempfile.TemporaryDirectory(prefix="bench_image_q_") as tmp:
            rows, floor = bench_quality(
                data, args.steps, args.num_fake, args.wgan_n_critic, args.kinds, Path(tmp), print
            )
        table = quality_table(rows, floor, args.num_fake)
        print("\n" + "\n".join(table))
        out += [f"### Loss kinds on the digits after {args.steps} steps", "", *table, ""]
    total = time.perf_counter() - started
    load_end = load_average()
    print(f"\ntotal {total:.0f} s; load average (1, 5, 15 min) at start {load_start}, at end {load_end}")

    if args.no_write or (args.quick and not args.write):
        return 0
    body = [
        SECTION,
        "",
        f"Written by `scripts/bench_image.py` on {time.strftime('%Y-%m-%d')}; {total:.0f} s in all.",
        "",
        "```",
        command,
        "```",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        f"- load average (1, 5, 15 min): {load_start} at start, {load_end} at end"
        " (the machine may be shared; both loops of the speed test share the noise)",
        "",
        *out,
    ]
    write_section(Path(args.out), "\n".join(body))
    print(f"wrote the '{SECTION}' section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
