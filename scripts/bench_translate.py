"""Translation benchmark: what each mode gives on digits -> digits-M, and what CUT costs against CycleGAN.

    python scripts/bench_translate.py                          # every run at the recipe's defaults, then the step cost
    python scripts/bench_translate.py --runs cyclegan cut      # some of the runs
    python scripts/bench_translate.py --steps 300 --no-write   # shorter, print only
    python scripts/bench_translate.py --step-cost              # only the step cost
    python scripts/bench_translate.py --runs default cut --skip-step-cost --keep runs/bench   # keep the runs

1. Runs: each one trained from scratch in this process, one after another, with the recipe's default
   config plus its overrides (`python -m multigan.recipes.translate KEY=VALUE ...` trains the same),
   then scored by multigan.translate.evaluate on the held-out writers: the final checkpoint, never a
   best one. Wall time and this process's CPU time of training; the figures of evaluation.
2. Step cost: CycleGAN, the default (CycleGAN + PatchNCE) and CUT taking turns step by step (one D
   and one G update on one fixed batch, data loading excluded), so a machine growing busier slows all
   alike; the medians and their ratios to CycleGAN.

Runs on one torch thread unless --threads says otherwise. Prints tables and appends to the
"## Translate" section of docs/BENCHMARKS.md (other sections are left as they are).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # machine.py, beside this script

from machine import append_to_section, machine_lines, one_update_step  # noqa: E402

from multigan.core.config import load_config  # noqa: E402
from multigan.core.trainer import Trainer  # noqa: E402
from multigan.translate.adapter import TranslateAdapter  # noqa: E402
from multigan.translate.config import TranslateConfig  # noqa: E402
from multigan.translate.data import digits_m  # noqa: E402
from multigan.translate.evaluate import evaluate_translation  # noqa: E402
from multigan.translate.pipeline import TranslatePipeline  # noqa: E402

SECTION = "## Translate"
RUNS = {  # name: (label, overrides of the recipe's defaults); recipes/translate_<name>.yaml says the same
    "default": ("unpaired, CycleGAN + PatchNCE (the default)", []),
    "cyclegan": ("unpaired, CycleGAN", ["loss.nce_weight=0"]),
    "cut": ("unpaired, CUT (one-sided)", ["loss.cycle_weight=0"]),
    "paired": ("paired, pix2pix", ["mode=paired", "loss.nce_weight=0"]),
    "reference": ("reference-guided", ["mode=reference"]),
}
METRICS = ("labels_kept", "SSIM", "PSNR", "FID", "style_error")


def config(out_dir: str, overrides: list[str]) -> TranslateConfig:
    return load_config(TranslateConfig, None, [f"out_dir={out_dir}", *overrides])


def bench_runs(names: list[str], steps: int | None, work: Path, log) -> list[str]:
    domains = digits_m(TranslateConfig().data.size)
    timing, scores = [], []
    for name in names:
        label, overrides = RUNS[name]
        extra = [f"train.steps={steps}"] if steps else []
        cfg = config(str(work / name), [*overrides, *extra])
        log(f"{name}: training {cfg.train.steps} steps ({' '.join(overrides + extra) or 'the defaults'})")
        wall, cpu = time.perf_counter(), time.process_time()
        Trainer(TranslateAdapter(cfg, domains), cfg, echo=log).fit()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        model = TranslatePipeline.from_folder(cfg.out_dir)
        report = evaluate_translation(model, domains, seed=cfg.seed)
        for line in report.lines():
            log(f"  {line}")
        shown = " ".join(overrides + extra) or "(none)"
        timing.append(
            f"| {label} | `{shown}` | {cfg.train.steps} | {wall / 60:.1f} | {cpu / 60:.1f} | "
            f"{wall / cfg.train.steps:.3f} |"
        )
        for direction, rows in report.rows.items():
            for row, values in rows.items():
                if row != "identity map" and row != "random target" or name == names[0]:
                    cells = " | ".join(_fmt(values.get(m)) for m in METRICS)
                    scores.append(f"| {label if row not in ('identity map', 'random target') else row} | "
                                  f"{direction} | {cells} |")  # fmt: skip
    return [
        "Training (one process, runs one after another; wall and CPU minutes):",
        "",
        "| run | overrides | steps | wall min | CPU min | wall s / step |",
        "|---|---|---:|---:|---:|---:|",
        *timing,
        "",
        "Scores on the 360 held-out writers (final checkpoint; baselines from the first run's evaluation):",
        "",
        "| run | direction | " + " | ".join(METRICS) + " |",
        "|---|---|" + "---:|" * len(METRICS),
        *scores,
    ]


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def training_step(overrides: list[str]):
    """A function running one D and one G update (the adapter's losses, Adam) on one fixed batch."""
    cfg = config("/nonexistent", overrides)
    adapter = TranslateAdapter(cfg, digits_m(cfg.data.size))
    ds = adapter.dataset()
    batch = adapter.to_device(adapter.collate([ds[i] for i in range(cfg.train.batch_size)]), torch.device("cpu"))
    return one_update_step(adapter, batch)


def bench_step_cost(log, steps: int = 20) -> list[str]:
    names = ["cyclegan", "default", "cut"]
    steppers = {name: training_step(RUNS[name][1]) for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(steps + 3):  # round robin; the first three warm up
        for name, step in steppers.items():
            t = time.perf_counter()
            step()
            if i >= 3:
                times[name].append(time.perf_counter() - t)
    median = {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}
    for name, ts in times.items():
        log(f"{name}: " + " ".join(f"{t:.3f}" for t in ts))
    batch = TranslateConfig().train.batch_size
    return [
        f"Seconds per training step (one D and one G update at batch {batch} on one fixed batch, data loading "
        f"excluded; median of {steps} after 3 warm-up steps, the runs taking turns step by step in one process):",
        "",
        "| run | s / step (median) | fastest - slowest | vs CycleGAN |",
        "|---|---:|---:|---:|",
        *[
            f"| {RUNS[name][0]} | {median[name]:.3f} | {min(ts):.3f} - {max(ts):.3f} | "
            f"{median[name] / median['cyclegan']:.2f}x |"
            for name, ts in times.items()
        ],
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default: the recipe's)")
    p.add_argument("--step-cost", action="store_true", help="only the step cost (2.)")
    p.add_argument("--skip-step-cost", action="store_true", help="only the runs (1.)")
    p.add_argument("--keep", default="", help="a folder to keep the runs in (default: a temporary one)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    started = time.perf_counter()
    header = machine_lines()
    tables: list[str] = []
    if not args.step_cost:
        with tempfile.TemporaryDirectory(prefix="bench_translate_") as tmp:
            tables += bench_runs(args.runs, args.steps, Path(args.keep or tmp), log)
    if not args.skip_step_cost:
        tables += ["", *bench_step_cost(log)] if tables else bench_step_cost(log)
    command = "python scripts/bench_translate.py " + " ".join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = "\n".join(
        [f"### {stamp}", "", f"`{command.strip()}` ({time.perf_counter() - started:.0f} s in all)", "", *header, "",
         *tables]
    )  # fmt: skip
    print(entry)
    if not args.no_write:
        append_to_section(Path(args.out), SECTION, entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
