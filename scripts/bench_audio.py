"""Audio benchmark: both modes on the embedded notes, side by side in one process, and their step cost.

    python scripts/bench_audio.py                        # both modes at the recipe's defaults, then the step cost
    python scripts/bench_audio.py --modes spectrogram    # one mode
    python scripts/bench_audio.py --steps 300 --no-write # shorter, print only
    python scripts/bench_audio.py --skip-step-cost --keep runs/bench_audio

1. Runs: each mode trained from scratch in this process, one after another, with the recipe's
   default config (`python -m multigan.recipes.audio mode=MODE` trains the same), then scored by
   multigan.audio.evaluate against the notes' test split: the final checkpoint, never a best one.
   Wall and CPU minutes of training and of evaluation; the evaluation's rows, real data's first.
2. Step cost: the two modes taking turns step by step (one D and one G update on one fixed batch,
   data loading excluded); the medians and their ratio.

Runs on two torch threads unless --threads says otherwise. Prints tables and appends to the
"## Audio" section of docs/BENCHMARKS.md (other sections are left as they are).
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

from multigan.audio.adapter import AudioAdapter  # noqa: E402
from multigan.audio.config import AudioConfig  # noqa: E402
from multigan.audio.data import load_audio  # noqa: E402
from multigan.audio.evaluate import evaluate_generator, evaluation_sets  # noqa: E402
from multigan.audio.pipeline import AudioPipeline  # noqa: E402
from multigan.core.config import load_config  # noqa: E402
from multigan.core.trainer import Trainer  # noqa: E402

SECTION = "## Audio"
MODES = ("spectrogram", "waveform")
METRICS = ("accuracy", "f0_pitch_accuracy", "IS", "FD", "NDB", "silent", "clipped")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def bench_runs(modes: list[str], steps: int | None, work: Path, log) -> list[str]:
    data = load_audio(AudioConfig().data)
    timing, scores = [], []
    for mode in modes:
        extra = [f"train.steps={steps}"] if steps else []
        cfg = load_config(AudioConfig, None, [f"out_dir={work / mode}", f"mode={mode}", *extra])
        log(f"{mode}: training {cfg.train.steps} steps")
        wall, cpu = time.perf_counter(), time.process_time()
        Trainer(AudioAdapter(cfg, data), cfg, echo=log).fit()
        train_wall, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        fitted, reference, name = evaluation_sets(cfg.data, data)
        report = evaluate_generator(AudioPipeline.from_folder(cfg.out_dir), fitted, reference, reference_name=name)
        eval_wall, eval_cpu = time.perf_counter() - wall, time.process_time() - cpu
        for line in report.lines():
            log(f"  {line}")
        timing.append(
            f"| {mode} | {cfg.train.steps} | {train_wall / 60:.1f} | {train_cpu / 60:.1f} | "
            f"{train_wall / cfg.train.steps:.3f} | {eval_wall / 60:.1f} | {eval_cpu / 60:.1f} |"
        )
        for row, values in report.rows.items():
            if row == "generated" or mode == modes[0]:
                label = f"generated, mode={mode}" if row == "generated" else row
                scores.append(f"| {label} | " + " | ".join(_fmt(values.get(m)) for m in METRICS) + " |")
    return [
        "Training and evaluation (one process, modes one after another; wall and CPU minutes):",
        "",
        "| mode | steps | train wall min | train CPU min | wall s / step | evaluate wall min | evaluate CPU min |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *timing,
        "",
        "Scores against the notes' test split (200 notes, 2 unseen renditions of every (timbre, pitch) pair, "
        "the 20 pairs held out of training included); generated clips: 200, with the test split's labels; "
        "FD and NDB against the 800 training notes on the classifier's features; final checkpoints:",
        "",
        "| row | " + " | ".join(METRICS) + " |",
        "|---|" + "---:|" * len(METRICS),
        *scores,
    ]


def training_step(mode: str):
    cfg = load_config(AudioConfig, None, ["out_dir=/nonexistent", f"mode={mode}"])
    adapter = AudioAdapter(cfg)
    ds = adapter.dataset()
    batch = adapter.to_device(adapter.collate([ds[i] for i in range(cfg.train.batch_size)]), torch.device("cpu"))
    return one_update_step(adapter, batch)


def bench_step_cost(modes: list[str], log, steps: int = 20) -> list[str]:
    steppers = {mode: training_step(mode) for mode in modes}
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for i in range(steps + 3):  # round robin; the first three warm up
        for mode, step in steppers.items():
            t = time.perf_counter()
            step()
            if i >= 3:
                times[mode].append(time.perf_counter() - t)
    median = {mode: sorted(ts)[len(ts) // 2] for mode, ts in times.items()}
    batch = AudioConfig().train.batch_size
    return [
        f"Seconds per training step (one D and one G update at batch {batch} on one fixed batch, data loading "
        f"excluded; median of {steps} after 3 warm-up steps, the modes taking turns step by step):",
        "",
        f"| mode | s / step (median) | fastest - slowest | vs {modes[0]} |",
        "|---|---:|---:|---:|",
        *[
            f"| {mode} | {median[mode]:.3f} | {min(ts):.3f} - {max(ts):.3f} | {median[mode] / median[modes[0]]:.2f}x |"
            for mode, ts in times.items()
        ],
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default: the recipe's)")
    p.add_argument("--skip-step-cost", action="store_true", help="only the runs (1.)")
    p.add_argument("--step-cost", action="store_true", help="only the step cost (2.)")
    p.add_argument("--keep", default="", help="a folder to keep the runs in (default: a temporary one)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    started = time.perf_counter()
    header = machine_lines()
    tables: list[str] = []
    if not args.step_cost:
        with tempfile.TemporaryDirectory(prefix="bench_audio_") as tmp:
            tables += bench_runs(args.modes, args.steps, Path(args.keep or tmp), log)
    if not args.skip_step_cost:
        tables += ["", *bench_step_cost(args.modes, log)] if tables else bench_step_cost(args.modes, log)
    command = "python scripts/bench_audio.py " + " ".join(argv if argv is not None else sys.argv[1:])
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
