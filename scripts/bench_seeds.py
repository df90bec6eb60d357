"""Results across seeds: the default image, video and text-mini runs, each trained with seeds 0, 1, 2.

    python scripts/bench_seeds.py                          # all three, two runs at a time, one torch thread each
    python scripts/bench_seeds.py --only video --seeds 0 1 2 --jobs 1
    python scripts/bench_seeds.py --set image:train.steps=1000   # fewer steps (the entry says so)

Each run is the command a user types, in a child process with OMP_NUM_THREADS=1 (so two runs share
the 2 cores of the dev VM without fighting over them), writing its own log beside the run:

- image: `python -m multigan.recipes.image seed=S out_dir=RUN`, then `evaluate --run RUN`
  (digits-FID, KID and classes present of 2,000 samples, evaluation seed 0 for every run);
- video: `python -m multigan.recipes.video seed=S out_dir=RUN`, which evaluates itself (10 -> 10 on
  the 100 held-out clips, whose digits and motions are fixed by the data's own seed);
- text:  `python scripts/bench_text_oracle.py --scale mini --set seed=S --skip-speed --no-append`
  (NLL-oracle and NLL-test of the MLE and SeqGAN generators, and SeqGAN at T=1 against MLE's
  temperature curve at the same NLL-test).

The seed changes the initial weights, the batches, the noise and the evaluation's noise; the data,
the held-out split and the metric's networks stay the same. The entry gives mean ± sample standard
deviation (n - 1) and every run's value, and is appended under "## Across seeds" in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # machine.py, beside this script

from machine import append_to_section, machine_lines  # noqa: E402

RECIPES = ("text", "video", "image")  # the longest first, so two workers finish together
DIGITS = "digits-classifier (128-d)"


@dataclass
class Run:
    recipe: str
    seed: int
    run_dir: Path
    commands: list[list[str]]
    seconds: float = 0.0
    error: str = ""
    values: dict[str, float] = field(default_factory=dict)


def commands_for(recipe: str, seed: int, run_dir: Path, overrides: list[str]) -> list[list[str]]:
    py = sys.executable
    if recipe == "text":
        sets = [a for o in [f"seed={seed}", *overrides] for a in ("--set", o)]
        script = str(ROOT / "scripts" / "bench_text_oracle.py")
        return [
            [py, script, "--scale", "mini", "--out", str(run_dir), "--skip-speed", "--no-append"]
            + ["--json", str(run_dir / "seed_result.json"), *sets]
        ]
    module = f"multigan.recipes.{recipe}"
    train = [py, "-m", module, f"seed={seed}", f"out_dir={run_dir}", *overrides]
    if recipe == "image":
        return [train, [py, "-m", module, "evaluate", "--run", str(run_dir)]]
    return [train]


def read_values(run: Run) -> dict[str, float]:
    """The figures of one finished run, by the names the table uses."""
    if run.recipe == "text":
        d = json.loads((run.run_dir / "seed_result.json").read_text())
        names = {"nll_oracle": "NLL-oracle", "nll_test": "NLL-test"}
        values = {f"{row} {names[k]}": d["rows"][row][k] for row in ("MLE", "SeqGAN") for k in names}
        if d["seqgan_t1_minus_mle_curve"] is not None:
            values["SeqGAN - MLE curve at equal NLL-test"] = d["seqgan_t1_minus_mle_curve"]
        return values
    d = json.loads((run.run_dir / "evaluation.json").read_text())
    if run.recipe == "image":
        s = d["scores"][DIGITS]
        return {"digits-FID": s["FID"], "KID": s["KID"], "classes present": s["classes_present"]}
    model, copy_last = d["model"], d["copy_last"]
    return {
        **{k.upper(): model[k]["mean"] for k in ("mse", "psnr", "ssim")},
        **{f"copy-last {k.upper()}": copy_last[k]["mean"] for k in ("mse", "psnr", "ssim")},
    }


def execute(run: Run) -> Run:
    run.run_dir.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    with open(run.run_dir / "bench_seeds.log", "w") as log:
        for cmd in run.commands:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            if done.returncode != 0:
                run.error = f"`{' '.join(cmd)}` exited {done.returncode}; see {run.run_dir / 'bench_seeds.log'}"
                break
    run.seconds = time.perf_counter() - start
    if not run.error:
        try:
            run.values = read_values(run)
        except (OSError, KeyError, ValueError) as err:
            run.error = f"could not read the results of {run.run_dir}: {err}"
    return run


def decimals(x: float) -> int:
    """Digits after the point for a row whose mean is x (the same for its mean, std and runs)."""
    a = abs(x)
    return 1 if a >= 100 else 2 if a >= 10 else 3 if a >= 0.1 else 4


def table(runs: list[Run]) -> list[str]:
    names = list(runs[0].values)
    seeds = [r.seed for r in runs]
    lines = [
        "| | mean ± std | " + " | ".join(f"seed {s}" for s in seeds) + " |",
        "|---|---:|" + "---:|" * len(seeds),
    ]
    for name in names:
        xs = [r.values[name] for r in runs if name in r.values]
        d = decimals(statistics.mean(xs))
        spread = f"{statistics.mean(xs):.{d}f} ± {statistics.stdev(xs):.{d}f}" if len(xs) > 1 else f"{xs[0]:.{d}f}"
        lines.append(f"| {name} | **{spread}** | " + " | ".join(f"{x:.{d}f}" for x in xs) + " |")
    minutes = ", ".join(f"{r.seconds / 60:.1f}" for r in runs)
    lines += ["", f"Wall time of each run, evaluation included (min): {minutes}."]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=",".join(RECIPES), help="recipes to run, comma-separated (image,video,text)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (each on one torch thread)")
    p.add_argument(
        "--set", action="append", default=[], metavar="RECIPE:KEY=VALUE", help="a config override for one recipe"
    )
    p.add_argument("--runs-root", default=str(ROOT / "runs" / "bench_seeds"), help="where the runs are written")
    p.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipes = [r for r in args.only.split(",") if r]
    unknown = sorted(set(recipes) - set(RECIPES)) + [o for o in args.set if o.split(":")[0] not in RECIPES]
    if unknown or len(args.seeds) < 2 or args.jobs < 1:
        print(
            f"error: unknown recipe or override {unknown}; need at least 2 seeds and 1 job"
            if unknown
            else "error: need at least 2 seeds and 1 job",
            file=sys.stderr,
        )
        return 2
    overrides = {r: [o.split(":", 1)[1] for o in args.set if o.startswith(f"{r}:")] for r in recipes}
    root = Path(args.runs_root)
    taken = [root / f"{r}_seed{s}" for r in recipes for s in args.seeds if (root / f"{r}_seed{s}").exists()]
    if taken:
        print(f"error: {taken[0]} already exists; pass --runs-root with a new folder", file=sys.stderr)
        return 2
    runs = [
        Run(r, s, root / f"{r}_seed{s}", commands_for(r, s, root / f"{r}_seed{s}", overrides[r]))
        for s in args.seeds
        for r in RECIPES
        if r in recipes
    ]
    start, started_at = time.perf_counter(), datetime.now(UTC)
    torch.set_num_threads(1)  # what each child runs with (OMP_NUM_THREADS=1), so the machine lines say so
    lines_machine = machine_lines()
    failed = []
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(execute, run) for run in runs]
        with tqdm(total=len(runs), desc="seed runs", unit="run") as bar:
            for future in as_completed(futures):
                run = future.result()
                bar.write(f"{run.recipe} seed {run.seed}: {run.error or 'done'} ({run.seconds / 60:.1f} min)")
                failed += [run] if run.error else []
                bar.update()
    if failed:
        for run in failed:
            print(f"error: {run.recipe} seed {run.seed}: {run.error}", file=sys.stderr)
        return 1
    command = "python scripts/bench_seeds.py " + " ".join(argv if argv is not None else sys.argv[1:])
    entry = [
        f"### {started_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"`{command.strip()}` ({(time.perf_counter() - start) / 60:.0f} min in all, {args.jobs} runs at a time, "
        "OMP_NUM_THREADS=1 for each)",
        "",
        *lines_machine,
    ]
    for recipe in (r for r in RECIPES[::-1] if r in recipes):
        chosen = [r for r in runs if r.recipe == recipe]
        base = " (the mini oracle schedule)" if recipe == "text" else " (default config)"
        extra = f"{base}, overrides {' '.join(overrides[recipe])}" if overrides[recipe] else base
        entry += ["", f"**{recipe}**{extra}, seeds {', '.join(map(str, args.seeds))}:", "", *table(chosen)]
    text = "\n".join(entry) + "\n"
    print(text)
    if not args.no_write:
        append_to_section(Path(args.out), "## Across seeds", text)
        print(f"appended to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
